module kaniko-builder.local/examples/go

go 1.24

require (
	github.com/pulumi/pulumi/sdk/v3 v3.248.0
	kaniko-builder.local/sdk v0.0.0
)

// The package's Go SDK, generated into ./sdk (see README.md here); not committed.
replace kaniko-builder.local/sdk => ./sdk
