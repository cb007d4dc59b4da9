package main

import _ "{{name}}/gen/exports/wit_exports"

func main() {}
