/** During `pulumi preview`, inputs that come from resources not created yet are unknown. */
import * as pulumi from "@pulumi/pulumi";
import { KanikoBuilder, KanikoPodTemplate, LocalInsecureRegistry, RegistryCredsSecret } from "../components";
import { recordResources } from "./helpers/pulumiMocks";

const mocks = recordResources({ preview: true });

/** An Output whose value is not known during the preview. */
const unknownString = () => pulumi.output(pulumi.unknown) as unknown as pulumi.Output<string>;

test("unknown passwords, servers and names do not crash validation; the Secret is still planned", async () => {
    const creds = new RegistryCredsSecret("creds", {
        namespace: unknownString(),
        registries: [
            { server: unknownString(), username: "u", password: pulumi.secret(unknownString()) },
            { server: "ghcr.io", username: unknownString(), password: pulumi.secret("p") },
        ],
        dockerConfigJson: pulumi.secret(unknownString()),
    });
    // Wait until the Secret has been registered with the engine (the mock monitor).
    for (let i = 0; i < 100 && mocks.ofType("kubernetes:core/v1:Secret").length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
    }
    const secret = mocks.ofType("kubernetes:core/v1:Secret");
    expect(secret).toHaveLength(1);
    expect(secret[0].inputs.metadata.name).toBe("registrycreds");
    // data and namespace are planned as unknown, to be computed at `pulumi up`
    expect(pulumi.isUnknown(secret[0].inputs.data)).toBe(true);
    expect(pulumi.isUnknown(secret[0].inputs.metadata.namespace)).toBe(true);
    expect(secret[0].inputs.type).toBe("kubernetes.io/dockerconfigjson");
    expect(creds.urn).toBeDefined();
});

test("known bad values are still refused during a preview, next to unknown ones", () => {
    expect(
        () =>
            new RegistryCredsSecret("creds2", {
                registries: [{ server: "ghcr.io/org/repo", username: "u", password: pulumi.secret(unknownString()) }],
            }),
    ).toThrow(/registries\[0\]\.server "ghcr.io\/org\/repo" has the path/);
});

/** Waits until `count` resources of a type have reached the mock monitor. */
async function registered(type: string, count = 1) {
    for (let i = 0; i < 200 && mocks.ofType(type).length < count; i++) await new Promise((r) => setTimeout(r, 10));
    return mocks.ofType(type);
}

test("KanikoPodTemplate with unknown namespace, registry, images and credentials: planned, not crashed", async () => {
    mocks.reset();
    new KanikoPodTemplate("kaniko-unknown", {
        namespace: unknownString(),
        registry: unknownString(),
        kanikoImage: unknownString(),
        credentials: { secretName: unknownString(), dataKey: unknownString(), namespace: unknownString() },
        jenkinsNamespace: "jenkins",
    });
    const [cm] = await registered("kubernetes:core/v1:ConfigMap");
    // the whole template is rendered from all inputs, so it is computed at `pulumi up`
    expect(pulumi.isUnknown(cm.inputs.data)).toBe(true);
});

test("LocalInsecureRegistry with unknown users, namespace and node port: planned, not crashed", async () => {
    mocks.reset();
    new LocalInsecureRegistry("registry-unknown", {
        namespace: unknownString(),
        users: [{ username: unknownString(), password: pulumi.secret(unknownString()) }],
        nodePort: pulumi.output(pulumi.unknown) as unknown as pulumi.Output<number>,
    });
    const [deployment] = await registered("kubernetes:apps/v1:Deployment");
    expect(deployment).toBeDefined();
    expect((await registered("kubernetes:core/v1:Secret"))[0].inputs.data).toBeDefined();
});

test("KanikoBuilder with an unknown namespace and unknown logins: all three planned", async () => {
    mocks.reset();
    new KanikoBuilder("builder-unknown", {
        namespace: unknownString(),
        registries: [{ server: unknownString(), username: unknownString(), password: pulumi.secret(unknownString()) }],
        localRegistry: { users: [{ username: "kaniko", password: pulumi.secret(unknownString()) }], nodePort: 30500 },
    });
    expect(await registered("kubernetes:core/v1:Secret", 2)).toHaveLength(2);
    expect(await registered("kubernetes:core/v1:ConfigMap", 3)).toHaveLength(3);
});
