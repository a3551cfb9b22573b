// The engine tier's driver for examples/go (test/engine/languages.test.ts): the example's program
// (program.go, copied beside this file in place of its main.go) run through the Go Automation API
// as an inline program, since the Go language host that `pulumi up` would start is not served by
// the Go module proxy reachable here. The backend, passphrase and Pulumi home come from the
// environment.
//
//	driver up|preview STACK PROJECT WORKDIR
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "driver: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("usage: driver up|preview STACK PROJECT WORKDIR")
	}
	op, stackName, project, work := args[0], args[1], args[2], args[3]
	stack, err := auto.SelectStackInlineSource(ctx, stackName, project, program, auto.WorkDir(work))
	if err != nil {
		return err
	}
	switch op {
	case "up":
		_, err = stack.Up(ctx, optup.ProgressStreams(os.Stdout))
	case "preview":
		_, err = stack.Preview(ctx, optpreview.ExpectNoChanges(), optpreview.Diff(), optpreview.ProgressStreams(os.Stdout))
	default:
		err = fmt.Errorf("unknown operation %q", op)
	}
	return err
}
