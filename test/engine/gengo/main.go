// pulumi-gen-go-sdk generates a package's Go SDK with the pinned Pulumi's own code, the steps of
// `pulumi package gen-sdk SOURCE --language go` (pkg/v3 cmd/pulumi/packagecmd/package_gen_sdk.go):
// the schema from the schema source (a plugin binary, as the engine runs it), bound with the
// references to other packages loaded from their provider plugins, then the Go code generator
// (pkg/v3/codegen/go) that the Go language host calls. The CLI's gen-sdk hands that last step to
// the Go language host, which the Go module proxy reachable here does not serve.
//
//	pulumi-gen-go-sdk SOURCE IMPORT_BASE_PATH OUT_DIR [PACKAGE=VERSION ...]
//
// Each PACKAGE=VERSION binds the schema's references to PACKAGE at VERSION, the version of its
// provider that is installed (a reference names the version the package's SDK depends on; the
// loader refuses a provider of another version).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	cmdBackend "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/backend"
	cmdCmd "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/cmd"
	"github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/packages"
	"github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/packageworkspace"
	"github.com/pulumi/pulumi/pkg/v3/codegen/convert"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pkghost "github.com/pulumi/pulumi/pkg/v3/host"
	pkgWorkspace "github.com/pulumi/pulumi/pkg/v3/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/common/env"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/contract"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-gen-go-sdk: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("usage: pulumi-gen-go-sdk SOURCE IMPORT_BASE_PATH OUT_DIR [PACKAGE=VERSION ...]")
	}
	source, importBasePath, out := args[0], args[1], args[2]
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	sink := cmdutil.Diag()
	registry := cmdCmd.NewDefaultRegistry(ctx, cmdBackend.DefaultLoginManager, pkgWorkspace.Instance, nil, sink, env.Global())
	pluginHost, err := pkghost.New(ctx, sink, sink, nil, pkgWorkspace.EnsureLanguageInstalled,
		schema.NewLoaderServerFromContext, convert.NewMapperServerFromContext, packageworkspace.NewResolverServer(registry))
	if err != nil {
		return err
	}
	defer contract.IgnoreClose(pluginHost)
	pctx, err := plugin.NewContext(ctx, sink, sink, pluginHost, nil, wd, nil, false, nil)
	if err != nil {
		return err
	}
	defer contract.IgnoreClose(pctx)

	spec, _, err := packages.SchemaFromSchemaSource(pkgWorkspace.Instance, pctx, source, &plugin.ParameterizeArgs{},
		registry, env.Global(), 0)
	if err != nil {
		return err
	}
	// The Go options the schema has, with the module path the SDK is generated for.
	goInfo := map[string]any{}
	if raw, ok := spec.Language["go"]; ok {
		if err := json.Unmarshal(raw, &goInfo); err != nil {
			return err
		}
	}
	goInfo["importBasePath"] = importBasePath
	if spec.Language == nil {
		spec.Language = map[string]schema.RawMessage{}
	}
	if spec.Language["go"], err = json.Marshal(goInfo); err != nil {
		return err
	}
	if len(args) > 3 {
		if spec, err = rebindReferences(spec, args[3:]); err != nil {
			return err
		}
	}
	pkg, err := packages.BindSpec(*spec, schema.NewPluginLoader(pctx))
	if err != nil {
		return err
	}
	files, err := gogen.GeneratePackage("pulumi-gen-go-sdk", pkg, nil)
	if err != nil {
		return err
	}
	for name, content := range files {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// rebindReferences points the schema's references "/PACKAGE/vX/schema.json#..." at VERSION.
func rebindReferences(spec *schema.PackageSpec, pairs []string) (*schema.PackageSpec, error) {
	text, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	out := string(text)
	for _, pair := range pairs {
		name, version, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("%q: expected PACKAGE=VERSION", pair)
		}
		re := regexp.MustCompile(`"/` + regexp.QuoteMeta(name) + `/v[^/"]+/schema\.json#`)
		out = re.ReplaceAllString(out, `"/`+name+`/v`+strings.TrimPrefix(version, "v")+`/schema.json#`)
	}
	var rebound schema.PackageSpec
	if err := json.Unmarshal([]byte(out), &rebound); err != nil {
		return nil, err
	}
	return &rebound, nil
}
