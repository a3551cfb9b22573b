/** The policy pack: `pulumi preview --policy-pack policy/` (after `npm install` in this folder). */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("kaniko-builder", { policies });
