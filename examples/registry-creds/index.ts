/**
 * A team stack: registry credentials for the team's Jenkins agents, in the team's namespace.
 *
 *   pulumi config set namespace team-a
 *   pulumi config set ghcrUser octocat
 *   pulumi config set --secret ghcrToken ghp_...
 *   pulumi config set --secret dockerHubToken dckr_pat_...
 *   pulumi up
 */
import * as pulumi from "@pulumi/pulumi";
import { RegistryCredsSecret } from "kaniko-builder";

const config = new pulumi.Config();

const creds = new RegistryCredsSecret("team-registry-creds", {
    namespace: config.get("namespace") ?? "team-a",
    // the name the Kaniko pod template mounts
    secretName: "registrycreds",
    registries: [
        // pulls of base images from Docker Hub, without the anonymous rate limit
        { server: "docker.io", username: config.get("dockerHubUser") ?? "team-a-ci", password: config.requireSecret("dockerHubToken") },
        // pushes to GitHub's registry
        { server: "ghcr.io", username: config.require("ghcrUser"), password: config.requireSecret("ghcrToken") },
    ],
    // Amazon ECR: Kaniko runs docker-credential-ecr-login with the pod's AWS identity (IRSA)
    credHelpers: { "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" },
});

export const secretName = creds.secretName;
export const namespace = creds.namespace;
export const dataKey = creds.dataKey;
