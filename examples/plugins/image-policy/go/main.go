// The component's entry: linking the generated exports is all main does;
// the control itself is in plugin/.
package main

import _ "image-policy/gen/exports/wit_exports"

func main() {}
