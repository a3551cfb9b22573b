/** KanikoBuilder: the three components wired in one line, under the Pulumi mocks. */
import * as pulumi from "@pulumi/pulumi";
import { KanikoBuilder } from "../components";
import { recordResources, settle, unwrapSecrets, valueOf } from "./helpers/pulumiMocks";

const mocks = recordResources();
beforeEach(() => mocks.reset());

async function create(args: ConstructorParameters<typeof KanikoBuilder>[1]) {
    const b = new KanikoBuilder("ci", args);
    await settle(b.podYaml, b.secretName, b.dockerConfigJson, b.podTemplateConfigMap);
    await settle(b.containerdHostsToml, b.pushHost);
    return b;
}
const sorted = (pairs: string[][]) => [...pairs].sort((a, b) => (a.join(" ") < b.join(" ") ? -1 : 1));
const dockerConfigOf = () => {
    const secret = unwrapSecrets(mocks.ofType("kubernetes:core/v1:Secret").find((r) => r.name === "ci-registry-creds")!.inputs);
    return JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString());
};

test("a login: the Secret and the template mounting it, children of the component", async () => {
    const b = await create({ namespace: "jenkins", registries: [{ server: "ghcr.io", username: "bot", password: pulumi.secret("pw") }], podTemplate: { registry: "ghcr.io/org" } });
    expect(sorted(mocks.resources.map((r) => [r.type, r.name]))).toEqual(
        sorted([
            ["kaniko-builder:index:KanikoBuilder", "ci"],
            ["kaniko-builder:index:RegistryCredsSecret", "ci-registry-creds"],
            ["kubernetes:core/v1:Secret", "ci-registry-creds"],
            ["kaniko-builder:index:KanikoPodTemplate", "ci-pod-template"],
            ["kubernetes:core/v1:ConfigMap", "ci-pod-template"],
        ]),
    );
    expect(await valueOf(b.secretName)).toBe("registrycreds");
    expect(await valueOf(b.namespace)).toBe("jenkins");
    expect(await valueOf(b.podTemplateConfigMap)).toBe("jenkins/jenkins-agent-kaniko");
    expect(await valueOf(b.pushHost)).toBe("ghcr.io/org");
    expect(await valueOf(b.pullHost)).toBeUndefined();
    expect(await pulumi.isSecret(b.dockerConfigJson)).toBe(true);
    expect(Object.keys(dockerConfigOf().auths)).toEqual(["ghcr.io"]);
    expect(await valueOf(b.containerdHostsToml)).toBeUndefined();
});

test("with a local registry: its login joins the Secret, the template pushes to it, it lives in the namespace", async () => {
    const b = await create({
        namespace: "jenkins",
        registries: [{ server: "docker.io", username: "me", password: pulumi.secret("hub-pw") }],
        localRegistry: { users: [{ username: "kaniko", password: pulumi.secret("local-pw") }], nodePort: 30500 },
    });
    expect(await valueOf(b.pushHost)).toBe("registry.jenkins.svc.cluster.local:5000");
    expect(await valueOf(b.pullHost)).toBe("localhost:30500");
    expect(Object.keys(dockerConfigOf().auths)).toEqual(["https://index.docker.io/v1/", "localhost:30500", "registry.jenkins.svc.cluster.local:5000"]);
    expect(await valueOf(b.executorFlags)).toContain("--insecure-registry=registry.jenkins.svc.cluster.local:5000");
    expect(await valueOf(b.jenkinsfileSnippet)).toContain("--destination=registry.jenkins.svc.cluster.local:5000/my-app");
    expect(mocks.ofType("kubernetes:apps/v1:Deployment").map((r) => unwrapSecrets(r.inputs).metadata.namespace)).toEqual(["jenkins"]);
});

test("a Docker-host registry gets no namespace (it has none)", async () => {
    const b = await create({ localRegistry: { mode: "docker", users: [{ username: "kaniko", password: pulumi.secret("pw") }] } });
    expect(await valueOf(b.pushHost)).toBe("kind-registry:5000");
    expect(mocks.ofType("docker:index/container:Container")).toHaveLength(1);
});

test("what the component wires may not be given again", () => {
    expect(() => new KanikoBuilder("x", { podTemplate: { namespace: "a" } as any })).toThrow(
        'KanikoBuilder "x": podTemplate.namespace is wired by KanikoBuilder. Fix: leave it out and set namespace',
    );
});
