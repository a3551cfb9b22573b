package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	kb "kaniko-builder.local/sdk/kanikobuilder"
)

// program is examples/cluster-init/index.ts in Go: Kaniko builds for Jenkins with an in-cluster
// registry and a pull-through cache of Docker Hub (with a Docker Hub login, the cache pulls as that
// account), and the same outputs.
func program(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "")
	namespace := cfg.Get("jenkinsNamespace")
	if namespace == "" {
		namespace = "jenkins"
	}
	dockerHubUser := cfg.Get("dockerHubUser")

	registries := kb.RegistryLoginArray{}
	mirror := &kb.DockerHubMirrorArgsTypeArgs{NetworkPolicy: pulumi.BoolRef(true)}
	if dockerHubUser != "" {
		token := cfg.RequireSecret("dockerHubToken")
		registries = append(registries, kb.RegistryLoginArgs{Server: pulumi.String("docker.io"), Username: pulumi.String(dockerHubUser), Password: token})
		mirror.UpstreamUsername = pulumi.StringPtr(dockerHubUser)
		mirror.UpstreamPassword = token
	}

	local := &kb.LocalInsecureRegistryArgsTypeArgs{
		Users:                     kb.RegistryUserArray{kb.RegistryUserArgs{Username: pulumi.String("kaniko"), Password: cfg.RequireSecret("localRegistryPassword")}},
		NodePort:                  pulumi.Float64(30500),
		StorageSize:               pulumi.String("20Gi"),
		GarbageCollectionSchedule: pulumi.String("0 3 * * 0"),
	}
	// Optional: the key the registry's and the mirror's salts, http secret and checksums are derived
	// from. Unset, each generates its own (random.RandomBytes) at the first `pulumi up`.
	if key, err := cfg.TrySecret("registrySecretKey"); err == nil {
		local.SecretKey = key
		mirror.SecretKey = key
	}

	kaniko, err := kb.NewKanikoBuilder(ctx, "kaniko", &kb.KanikoBuilderArgs{
		Namespace:       pulumi.String(namespace),
		Registries:      registries,
		LocalRegistry:   local,
		DockerHubMirror: mirror,
		PodTemplate:     &kb.KanikoPodTemplateSettingsArgs{JenkinsReleaseName: pulumi.String("jenkins")},
	})
	if err != nil {
		return err
	}

	ctx.Export("secretName", kaniko.SecretName)
	ctx.Export("podTemplateLabel", kaniko.PodTemplateLabel)
	ctx.Export("pushHost", kaniko.PushHost)
	ctx.Export("pullHost", kaniko.PullHost)
	ctx.Export("jenkinsfileSnippet", kaniko.JenkinsfileSnippet)
	// For team stacks: the whole config.json, as a secret, to give each team namespace its own copy.
	ctx.Export("dockerConfigJson", kaniko.DockerConfigJson)
	ctx.Export("containerdHostsToml", kaniko.ContainerdHostsToml)
	ctx.Export("dockerHubMirrorContainerdHostsToml", kaniko.DockerHubMirrorContainerdHostsToml)
	return nil
}
