/**
 * The package as a component provider for other Pulumi languages: the schema the SDK's analyzer
 * infers from the TypeScript sources, exactly as `pulumi package add` gets it (run-plugin loads the
 * built entry point, finds the components and hosts them with ComponentProvider).
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { componentSchema } from "../render/docs";

const ROOT = path.resolve(__dirname, "..");

/** What other languages must see of each component: every argument and every output. */
const EXPECTED: Record<string, { inputs: string[]; outputs: string[] }> = {
    RegistryCredsSecret: {
        inputs: ["namespace", "secretName", "registries", "dockerConfigJson", "credHelpers", "secretType"],
        outputs: ["secretName", "namespace", "secretType", "dataKey", "mountFileName", "dockerConfigJson", "secret"],
    },
    KanikoPodTemplate: {
        inputs: [
            "namespace", "credentials", "localRegistry", "templateName", "label", "credentialsSecretName", "credentialsDataKey", "jnlpImage",
            "kanikoImage", "jnlpResources", "kanikoResources", "nodeSelector", "tolerations", "serviceAccountName", "imagePullSecrets", "env",
            "extraExecutorFlags", "baseImageCacheClaimName", "idleMinutes", "podRetention", "registry", "insecureRegistry", "imageName",
            "jenkinsReleaseName", "jenkinsNamespace", "cloudName", "jenkinsUrl", "jenkinsTunnel", "configMapName",
            "jenkinsNameOverride", "jenkinsFullnameOverride", "jenkinsServiceAccountName", "agentRbac", "containerCap", "registryMirror", "insecureRegistryMirror", "registryMirrorCaCertificate",
        ],
        outputs: [
            "podYaml", "jcascYaml", "executorFlags", "jenkinsfileSnippet", "label", "templateName", "cloudName", "namespace", "configMapName", "configMapNamespace", "configMap",
            "sidecarLabel", "containerdHostsToml", "containerdHostsTomlPath", "dockerDaemonJson",
        ],
    },
    LocalInsecureRegistry: {
        inputs: [
            "mode", "namespace", "name", "image", "auth", "tls", "users", "secretKey", "realm", "persistence", "storageSize", "storageClassName", "nodePort",
            "hostFromOutside", "resources", "garbageCollectionSchedule", "keepTags", "cacheTtlHours", "publishLocalRegistryHosting", "localRegistryHostingHelp",
            "dockerNetwork", "containerName", "hostPort", "networkPolicy", "allowedNamespaces", "nodeCidrs",
        ],
        outputs: ["pushHost", "pullHost", "hostFromOutside", "executorFlags", "logins", "configYaml", "containerdHostsTomlPath", "containerdHostsToml", "localRegistryHosting", "caCertificate", "tlsNotAfter", "containerdFiles"],
    },
    KanikoBuilder: {
        inputs: ["namespace", "registries", "dockerConfigJson", "credHelpers", "secretName", "secretType", "localRegistry", "dockerHubMirror", "podTemplate"],
        outputs: [
            "secretName", "dataKey", "namespace", "podTemplateLabel", "podTemplateConfigMap", "executorFlags", "jenkinsfileSnippet", "podYaml",
            "pushHost", "pullHost", "dockerConfigJson", "containerdHostsToml", "containerdHostsTomlPath", "dockerDaemonJson", "podTemplateSidecarLabel",
            "dockerHubMirrorHost", "dockerHubMirrorContainerdHostsToml", "dockerHubMirrorContainerdHostsTomlPath", "containerdFiles", "registryCaCertificate",
            "dockerHubMirrorContainerdFiles", "dockerHubMirrorCaCertificate",
        ],
    },
    DockerHubMirror: {
        inputs: [
            "namespace", "name", "image", "remoteUrl", "upstreamUsername", "upstreamPassword", "secretKey", "persistence", "storageSize", "storageClassName",
            "nodePort", "resources", "networkPolicy", "allowedNamespaces", "nodeCidrs", "tls",
        ],
        outputs: ["host", "executorFlags", "configYaml", "containerdHostsToml", "containerdHostsTomlPath", "caCertificate", "tlsNotAfter", "containerdFiles"],
    },
};

let schema: any;

beforeAll(async () => {
    // As @pulumi/pulumi's cmd/run-plugin does for a PulumiPlugin.yaml package with runtime nodejs (render/docs.ts, which writes docs/components.md from it).
    schema = await componentSchema();
}, 60_000);

test("PulumiPlugin.yaml makes the package a Node.js plugin", () => {
    expect(parse(fs.readFileSync(path.join(ROOT, "PulumiPlugin.yaml"), "utf8"))).toEqual({ runtime: "nodejs" });
});

test("the analyzer infers a schema with every component, under its type token", () => {
    expect(schema.name).toBe("kaniko-builder");
    expect(Object.keys(schema.resources).sort()).toEqual(Object.keys(EXPECTED).map((c) => `kaniko-builder:index:${c}`).sort());
    for (const resource of Object.values<any>(schema.resources)) expect(resource.isComponent).toBe(true);
});

test.each(Object.entries(EXPECTED))("%s: every input and output is in the schema, with its description", (component, expected) => {
    const resource = schema.resources[`kaniko-builder:index:${component}`];
    expect(Object.keys(resource.inputProperties ?? {}).sort()).toEqual([...expected.inputs].sort());
    expect(Object.keys(resource.properties ?? {}).sort()).toEqual([...expected.outputs].sort());
    for (const [name, property] of Object.entries<any>({ ...resource.inputProperties, ...resource.properties })) {
        expect([name, typeof property.description]).toEqual([name, "string"]);
    }
});

test("descriptions are text (TSDoc {@link} tags would come out as [object Object])", () => {
    expect(JSON.stringify(schema)).not.toContain("[object Object]");
});

test("references to Kubernetes resources resolve to the kubernetes package's schema", () => {
    expect(schema.resources["kaniko-builder:index:KanikoPodTemplate"].properties.configMap.$ref).toMatch(
        /^\/kubernetes\/v4\.\d+\.\d+\/schema\.json#\/resources\/kubernetes:core%2Fv1:ConfigMap$/,
    );
});
