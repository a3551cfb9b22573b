/**
 * A dev cluster made with kind: a registry container next to the kind nodes (Docker-host mode),
 * credentials for it, and the Kaniko pod template pushing to it. The registry's address is written
 * nowhere: Kaniko's flags, the login and the template's REGISTRY all come from the component.
 *
 *   ./demo.sh    # creates the kind cluster, runs `pulumi up`, builds with Kaniko, runs the image
 *
 * Set `mode` to `cluster` for a registry inside the cluster instead (NodePort 30500).
 */
import * as pulumi from "@pulumi/pulumi";
import { KanikoPodTemplate, LocalInsecureRegistry, RegistryCredsSecret } from "kaniko-builder";

const config = new pulumi.Config();
const mode = config.get("mode") ?? "docker";

const registry = new LocalInsecureRegistry("dev-registry", {
    mode,
    // cluster mode: the registry's namespace; a Docker-host registry has none
    namespace: mode === "cluster" ? "jenkins" : undefined,
    users: [{ username: "kaniko", password: config.requireSecret("registryPassword") }],
    // cluster mode: nodes pull localhost:30500/...; docker mode: nodes pull localhost:5001/...
    nodePort: mode === "cluster" ? 30500 : undefined,
});

// Kaniko's config.json: the registry's own login (for its push host), nothing typed by hand.
const creds = new RegistryCredsSecret("registrycreds", { namespace: "jenkins", registries: registry.logins });

const template = new KanikoPodTemplate("kaniko", { namespace: "jenkins", credentials: creds, localRegistry: registry });

/** Where Kaniko pushes (`kind-registry:5000` in docker mode). */
export const pushHost = registry.pushHost;
/** What Deployments put in `image:` (`localhost:5001/my-app:1`): what nodes pull. */
export const pullHost = registry.pullHost;
/** Where `docker push` from your machine goes. */
export const hostFromOutside = registry.hostFromOutside;
/** For /etc/containerd/certs.d/<pullHost>/hosts.toml on each kind node. */
export const containerdHostsTomlPath = registry.containerdHostsTomlPath;
export const containerdHostsToml = registry.containerdHostsToml;
export const executorFlags = template.executorFlags;
export const jenkinsfileSnippet = template.jenkinsfileSnippet;
/** The agent pod template, and the Secret it mounts (also the pull secret for pods running built images). */
export const podYaml = template.podYaml;
export const secretName = creds.secretName;
