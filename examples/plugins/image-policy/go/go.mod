module image-policy

go 1.27.1

require go.bytecodealliance.org/pkg v0.4.0

// gen/ is written by `rampart plugin build .`: the bindings, and the
// runtime package they import (vendored, so no module proxy is needed).
replace go.bytecodealliance.org/pkg => ./gen/pkg
