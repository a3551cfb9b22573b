/**
 * What Jenkins reads: the Kubernetes cloud and pod template as Configuration as Code, the Jenkins
 * Helm chart's names, the controller's rights in the agents' namespace, and the Jenkinsfile lines. Pure.
 */
import { createHash } from "crypto";
import { partOf } from "../common";
import { InvalidInputError, quote, validateJenkinsLabel, validateNamespace, validateObjectName } from "../validation";

/** The Kubernetes plugin's pod retention policies (their JCasC symbols). */
export const POD_RETENTION_VALUES: readonly string[] = ["never", "onFailure", "always", "default", "evicted"];

/**
 * `<chart fullname>` of a Jenkins Helm release, as the chart's `jenkins.fullname` helper computes it:
 * `fullnameOverride` if set; else the release name if it contains the chart name (`nameOverride`,
 * default `jenkins`), else `<release>-<name>`; cut to 63 characters without a trailing dash.
 */
export function jenkinsChartFullname(releaseName: string, overrides: { nameOverride?: string; fullnameOverride?: string } = {}): string {
    const trim = (s: string) => s.slice(0, 63).replace(/-+$/, "");
    if (overrides.fullnameOverride) return trim(overrides.fullnameOverride);
    const chartName = overrides.nameOverride || "jenkins";
    return trim(releaseName.includes(chartName) ? releaseName : `${releaseName}-${chartName}`);
}

/**
 * The Role and RoleBinding that let the Jenkins controller's ServiceAccount run agent pods in a
 * namespace other than its own: the rules of the Jenkins chart's `<fullname>-schedule-agents` Role
 * (which the chart creates only in its own agent namespace). Named after the template's ConfigMap,
 * so that several templates in one namespace, and the chart's own Role, do not collide.
 */
export function agentRbacObjects(o: { name: string; namespace: string; serviceAccountName: string; serviceAccountNamespace: string }): Record<string, any>[] {
    const labels = partOf("jenkins-agent-rbac");
    const metadata = { name: o.name, namespace: o.namespace, labels };
    return [
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata,
            rules: [
                { apiGroups: [""], resources: ["pods", "pods/exec", "pods/log", "persistentvolumeclaims", "events"], verbs: ["get", "list", "watch"] },
                { apiGroups: [""], resources: ["pods", "pods/exec", "persistentvolumeclaims"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
            ],
        },
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: o.name },
            subjects: [{ kind: "ServiceAccount", name: o.serviceAccountName, namespace: o.serviceAccountNamespace }],
        },
    ];
}

/**
 * The pod template's `id` in JCasC: a SHA-256 of the cloud and template names. Without one the
 * Kubernetes plugin gives the template a random UUID at every JCasC load, and agents running across
 * a controller restart or a configuration reload can no longer find their template ("Unable to
 * resolve pod template from id=...", JENKINS-64628); the Jenkins chart writes one for its own
 * templates too (a sha256sum). Stable while the names stay, whatever else of the template changes.
 */
export function podTemplateId(cloudName: string, templateName: string): string {
    return createHash("sha256").update(`kaniko-builder/pod-template/${cloudName}/${templateName}`).digest("hex");
}

/** Where the JCasC file must reach the Jenkins controller, and how agents reach it back. */
export interface JenkinsCloudOptions {
    cloudName: string;
    /** Namespace the agent pods run in. */
    namespace: string;
    templateName: string;
    label: string;
    idleMinutes: number;
    podRetention: string;
    jenkinsUrl: string;
    jenkinsTunnel: string;
    /** The Helm release name, for the pod label the chart's agent NetworkPolicy admits. */
    jenkinsReleaseName: string;
    /** The most agent pods of this cloud at once (the plugin's container cap). */
    containerCap: number;
    /** The raw pod YAML. */
    podYaml: string;
}

/**
 * The JCasC document that declares the pod template for the Kubernetes plugin. It declares a
 * cloud of its own (not the chart's `kubernetes` cloud): JCasC merges the files under
 * `casc_configs` by appending sequences, so a second `clouds` entry named like the chart's would
 * be a second cloud with the same name; a separately named cloud in the same cluster sits beside
 * the chart's cloud and leaves it untouched. Field names are the Kubernetes plugin's
 * (`KubernetesCloud` and `PodTemplate` setters); the test pins them.
 */
export function buildJcasc(o: JenkinsCloudOptions): Record<string, unknown> {
    if (!Number.isInteger(o.idleMinutes) || o.idleMinutes < 0) {
        throw new InvalidInputError("idleMinutes", `${quote(o.idleMinutes)} is not a whole number of minutes`, "use 0 (delete the pod after each build) or more");
    }
    if (!Number.isInteger(o.containerCap) || o.containerCap < 1) {
        throw new InvalidInputError("containerCap", `${quote(o.containerCap)} is not a whole number of at least 1`, "give the most agent pods this cloud may run at once, e.g. 10");
    }
    if (!POD_RETENTION_VALUES.includes(o.podRetention)) {
        throw new InvalidInputError("podRetention", `is ${quote(o.podRetention)}`, `use one of ${POD_RETENTION_VALUES.join(", ")}`);
    }
    return {
        jenkins: {
            clouds: [
                {
                    kubernetes: {
                        name: o.cloudName,
                        serverUrl: "https://kubernetes.default",
                        namespace: o.namespace,
                        jenkinsUrl: o.jenkinsUrl,
                        jenkinsTunnel: o.jenkinsTunnel,
                        containerCapStr: String(o.containerCap),
                        podLabels: [{ key: `jenkins/${o.jenkinsReleaseName}-jenkins-agent`, value: "true" }],
                        templates: [
                            {
                                name: o.templateName,
                                id: podTemplateId(o.cloudName, o.templateName),
                                namespace: o.namespace,
                                label: o.label,
                                nodeUsageMode: "EXCLUSIVE",
                                idleMinutes: o.idleMinutes,
                                podRetention: o.podRetention,
                                yamlMergeStrategy: "override",
                                yaml: o.podYaml,
                            },
                        ],
                    },
                },
            ],
        },
    };
}

/** The Jenkinsfile lines a user pastes into a stage that runs on the template. */
export function jenkinsfileSnippet(o: { destination: string; executorFlags: string[] }): string {
    const command = [
        "/kaniko/executor",
        '--context="$WORKSPACE"',
        '--dockerfile="$WORKSPACE/Dockerfile"',
        `--destination=${o.destination}:"$BUILD_NUMBER"`,
        ...o.executorFlags,
    ].join(" ");
    return `container('kaniko') {\n    sh '${command}'\n}\n`;
}

/** Checks the names the template is published under. */
export function validateTemplateNames(names: {
    namespace: string;
    jenkinsNamespace: string;
    templateName: string;
    label: string;
    cloudName: string;
    configMapName: string;
    jenkinsReleaseName: string;
}): void {
    validateJenkinsLabel("templateName", names.templateName);
    validateJenkinsLabel("label", names.label);
    validateJenkinsLabel("cloudName", names.cloudName);
    validateNamespace("namespace", names.namespace);
    validateNamespace("jenkinsNamespace", names.jenkinsNamespace);
    validateObjectName("configMapName", names.configMapName);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(names.jenkinsReleaseName) || names.jenkinsReleaseName.length > 53) {
        throw new InvalidInputError("jenkinsReleaseName", `${quote(names.jenkinsReleaseName)} is not a Helm release name`, "use the name given to helm install (lower-case letters, digits and '-')");
    }
    const chartLabel = `${names.jenkinsReleaseName}-jenkins-agent`;
    if (names.label === chartLabel) {
        throw new InvalidInputError("label", `${quote(names.label)} is the label of the Jenkins chart's default agent`, "use a label of its own, e.g. \"kaniko\", so builds land on this template");
    }
    if (names.cloudName === "kubernetes") {
        throw new InvalidInputError(
            "cloudName",
            "is \"kubernetes\", the name of the Jenkins chart's own cloud; JCasC would add a second cloud with the same name",
            "use a cloud name of its own, e.g. \"kaniko\"",
        );
    }
}
