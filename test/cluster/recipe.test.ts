/**
 * The cluster check for CI (docs/render.md) ("Reviewing changes in CI"), run as written against the cluster:
 * the block is taken from docs/render.md; only its output path is moved into this test's directory and
 * its `$config` is a config file of this test's namespaces.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { ROOT, kubectlOk, ownNamespaces, tempDir, yamlObjects } from "./kube";

const work = tempDir("kb-cluster-recipe-");
const [agents, jenkins] = ownNamespaces("recipe-agents", "recipe-jenkins");

/** The shell block that follows the `<!-- recipe: cluster-check` marker in docs/render.md. */
function recipe(): string {
    const readme = fs.readFileSync(path.join(ROOT, "docs", "render.md"), "utf8");
    const match = /<!-- recipe: cluster-check[^\n]*\n```sh\n([\s\S]*?)```/.exec(readme);
    if (!match) throw new Error("docs/render.md has no cluster-check recipe block");
    return match[1];
}

test("the CI recipe (docs/render.md): namespaces, a server-side dry run of the redacted render, and a diff, on a bare cluster", () => {
    const sample = yamlObjects(fs.readFileSync(path.join(ROOT, "render", "sample-config.yaml"), "utf8"))[0];
    const config = path.join(work.path, "config.yaml");
    fs.writeFileSync(config, stringify({ ...sample, namespace: agents, jenkinsNamespace: jenkins, localRegistryNodePort: 30551 }));
    const out = path.join(work.path, "render-head");
    const script = recipe();
    expect(script).toContain("/tmp/render-head");
    const r = spawnSync("bash", ["-euo", "pipefail", "-c", script.replace(/\/tmp\/render-head/g, out)], {
        cwd: ROOT,
        env: { ...process.env, config },
        encoding: "utf8",
        timeout: 300_000,
    });
    expect({ status: r.status, stderr: r.status === 0 ? "" : r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.stdout).toContain(`namespace/${agents} serverside-applied`);
    const objects = yamlObjects(fs.readFileSync(path.join(out, "all.yaml"), "utf8"));
    const resource = (o: Record<string, any>) => (o.apiVersion.includes("/") ? `${o.kind.toLowerCase()}.${o.apiVersion.split("/")[0]}` : o.kind.toLowerCase());
    for (const o of objects) expect(r.stdout).toContain(`${resource(o)}/${o.metadata.name} serverside-applied (server dry run)`);
    // Nothing was stored: the diff shows every object as new.
    const diff = fs.readFileSync(`${out}.diff`, "utf8");
    expect(diff).toContain(`v1.Secret.${agents}.registrycreds`);
    expect(kubectlOk(["-n", agents, "get", "secrets,configmaps,deployments", "-o", "name"])).not.toMatch(/registry/);
    // The redacted Secret was accepted as it is, and its hosts are there for review.
    expect(fs.readFileSync(path.join(out, "all.yaml"), "utf8")).toContain(`"registry.${agents}.svc.cluster.local:5000":{"auth":"<redacted>"}`);
});
