/**
 * Every Kubernetes object the cluster-init stack creates, built by the pure modules alone (no
 * Pulumi, no mocks), is exactly what the components register: the components only resolve their
 * inputs, call these functions and wrap what they return. Each object is also schema-valid.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { projectConfigDefaults, providerState } from "../render/renderStack";
import { checksum } from "../components/common";
import { buildDockerConfig } from "../components/credentials/dockerConfig";
import { CREDENTIALS_DEFAULTS, credentialsSecret, credentialsSecretData, secretDataKey } from "../components/credentials/secret";
import { mirrorDeployment, planDockerHubMirror, mirrorUpstreamSecret, upstreamLoginChecksum, MIRROR_DEFAULTS } from "../components/mirror/plan";
import { renderKanikoPodTemplate } from "../components/podTemplate/render";
import { deriveHttpSecret, htpasswdFile, secretChecksum } from "../components/registry/files";
import {
    localRegistryHostingConfigMap,
    registryAuthSecret,
    registryConfigMap,
    registryDeployment,
    registryGcCronJob,
    registryPvc,
    registryService,
} from "../components/registry/manifests";
import { planClusterRegistry, registryPlanInput } from "../components/registry/plan";
import { validateK8sObject } from "./helpers/k8sSchema";
import { recordResources, runStackWithConfig, settle, unwrapSecrets } from "./helpers/pulumiMocks";

const mocks = recordResources();

const CONFIG = {
    namespace: "jenkins",
    registryUsername: "hub-user",
    registryPassword: "hub-token",
    localRegistry: "cluster",
    localRegistryPassword: "local-pw",
    dockerHubMirror: "true",
    dockerHubMirrorUsername: "hub-bot",
    dockerHubMirrorPassword: "hub-bot-token",
};

/** The same objects from the pure modules, for the config above and the stack's defaults. */
function pureObjects(): Record<string, any>[] {
    const users = [{ username: "kaniko", password: CONFIG.localRegistryPassword }];
    const plan = planClusterRegistry(registryPlanInput({ namespace: "jenkins", nodePort: 30500, storageSize: "10Gi", garbageCollectionSchedule: "0 3 * * 0", keepTags: 10, cacheTtlHours: 336 }, { auth: true, persistence: true }));
    // Each registry's secret key: what the RandomBytes child it generates holds (the mock's stand-in).
    const key = (name: string) => providerState("random:index/randomBytes:RandomBytes", `${name}-secret-key`, { length: 32 }).hex as string;
    const registryKey = key("kaniko-builder-local-registry");
    const material = { htpasswd: htpasswdFile(users, plan.identity, registryKey), httpSecret: deriveHttpSecret(plan.identity, registryKey) };
    const registry = [
        registryAuthSecret(plan.input, material),
        registryConfigMap(plan.input, plan.configFiles),
        registryPvc(plan.input),
        registryDeployment(plan.input, { config: checksum(JSON.stringify(plan.configFiles)), auth: secretChecksum(registryKey, material.htpasswd, material.httpSecret) }),
        registryService(plan.input),
        registryGcCronJob({ ...plan.input, garbageCollectionSchedule: "0 3 * * 0" }),
        localRegistryHostingConfigMap(plan.localRegistryHostingYaml),
    ];
    const mirrorPlan = planDockerHubMirror({ ...MIRROR_DEFAULTS, namespace: "jenkins", upstreamLogin: true });
    const login = { username: CONFIG.dockerHubMirrorUsername, password: CONFIG.dockerHubMirrorPassword };
    const mirror = [
        mirrorPlan.objects.configMap,
        mirrorUpstreamSecret(mirrorPlan, login),
        mirrorPlan.objects.persistentVolumeClaim!,
        mirrorDeployment(mirrorPlan, upstreamLoginChecksum(mirrorPlan, login, key("kaniko-builder-docker-hub-mirror"))),
        mirrorPlan.objects.service,
    ];
    const logins = [
        { server: "docker.io", username: CONFIG.registryUsername, password: CONFIG.registryPassword },
        ...[plan.pushHost, plan.pullHost].map((server) => ({ server, username: "kaniko", password: CONFIG.localRegistryPassword })),
    ];
    const json = buildDockerConfig({ registries: logins }).json;
    const type = CREDENTIALS_DEFAULTS.secretType;
    const credentials = { apiVersion: "v1", kind: "Secret", ...credentialsSecret({ name: "registrycreds", namespace: "jenkins", type, data: credentialsSecretData(secretDataKey("secretType", type), json) }) };
    const template = renderKanikoPodTemplate({
        namespace: "jenkins",
        jenkinsNamespace: "jenkins",
        credentialsSecretName: "registrycreds",
        credentialsDataKey: ".dockerconfigjson",
        credentialsNamespace: "jenkins",
        registry: plan.pushHost,
        registryFlags: plan.executorFlags,
        registryMirror: mirrorPlan.host,
        insecureRegistryMirror: true,
        extraExecutorFlags: ["--cache-ttl=336h"],
        label: "kaniko",
        jenkinsReleaseName: "jenkins",
        cloudName: "kaniko",
        containerCap: 10,
    });
    return [...registry, ...mirror, credentials, template.configMap, ...template.rbac];
}

const key = (o: Record<string, any>) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;
const withoutTypeFields = ({ apiVersion: _a, kind: _k, ...rest }: Record<string, any>) => rest;

test("the stack's Kubernetes objects are the pure modules' objects, field for field, and schema-valid", async () => {
    mocks.reset();
    // With Pulumi.yaml's defaults, as the Pulumi CLI applies them.
    const defaults = projectConfigDefaults(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
    const stack = runStackWithConfig({ ...defaults, ...CONFIG }, ["registryPassword", "localRegistryPassword", "dockerHubMirrorPassword"]);
    await settle(...Object.values(stack).filter((v): v is pulumi.Output<unknown> => pulumi.Output.isInstance(v)));
    const kindOf = (type: string) => type.split(":")[2];
    const registered = mocks.resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => ({ kind: kindOf(r.type), ...unwrapSecrets(r.inputs) }));
    const pure = pureObjects();
    expect(registered.map(key).sort()).toEqual(pure.map(key).sort());
    for (const object of pure) {
        const mine = registered.find((r) => key(r) === key(object))!;
        expect([key(object), withoutTypeFields(mine)]).toEqual([key(object), withoutTypeFields(object)]);
        expect(() => validateK8sObject(object as { apiVersion: string; kind: string })).not.toThrow();
    }
});
