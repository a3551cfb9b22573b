/** During `pulumi preview`, inputs that come from resources not created yet are unknown. */
import * as pulumi from "@pulumi/pulumi";
import { RegistryCredsSecret } from "../components";
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
