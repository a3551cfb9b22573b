// examples/cluster-init in Go: the same KanikoBuilder, declared through the package's Go SDK
// (generated from the package's schema; see README.md here). `pulumi up` runs main, which runs
// program (program.go).
package main

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

func main() {
	pulumi.Run(program)
}
