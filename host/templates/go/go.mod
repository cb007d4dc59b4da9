module {{name}}

go 1.25

require go.bytecodealliance.org/pkg v0.4.0

// gen/ is written by `rampart plugin build .`.
replace go.bytecodealliance.org/pkg => ./gen/pkg
