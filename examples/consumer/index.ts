/**
 * A stack another team runs: one Kaniko pod template per team namespace, all pushing to the
 * registry the cluster-init stack (examples/cluster-init) runs. Nothing is typed twice: the
 * registry's address and the credentials come from that stack through a StackReference.
 *
 *   pulumi config set clusterInitStack my-org/kaniko-cluster-init/prod
 *   pulumi config set --path 'teams[0]' team-a
 *   pulumi up
 */
import * as pulumi from "@pulumi/pulumi";
import { KanikoPodTemplate, RegistryCredsSecret } from "kaniko-builder";

const config = new pulumi.Config();
const clusterInit = new pulumi.StackReference(config.get("clusterInitStack") ?? "organization/kaniko-cluster-init/prod");
const teams = config.getObject<string[]>("teams") ?? ["team-a", "team-b"];
const jenkinsNamespace = config.get("jenkinsNamespace") ?? "jenkins";

// A pod mounts only Secrets of its own namespace: each team gets a copy of the config.json (a secret
// output of the cluster-init stack, so it stays encrypted in this stack's state too).
const dockerConfigJson = clusterInit.requireOutput("dockerConfigJson") as pulumi.Output<string>;
const pushHost = clusterInit.requireOutput("pushHost") as pulumi.Output<string>;

export const templates = teams.map((team) => {
    const creds = new RegistryCredsSecret(`${team}-registry-creds`, { namespace: team, dockerConfigJson });
    const template = new KanikoPodTemplate(`${team}-kaniko`, {
        namespace: team,
        credentials: creds,
        templateName: `kaniko-${team}`,
        // The cluster-init registry speaks plain HTTP: --insecure-registry for its host only.
        registry: pushHost,
        insecureRegistry: true,
        imageName: team,
        // Jenkins runs in the cluster-init stack's namespace; the ConfigMap goes there for its sidecar.
        jenkinsNamespace,
        configMapName: `jenkins-agent-kaniko-${team}`,
        cloudName: `kaniko-${team}`,
    });
    return { team, label: template.label, configMap: template.configMapName };
});
