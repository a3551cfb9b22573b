import * as pulumi from "@pulumi/pulumi";
import { InvalidInputError, validateNamespace, validateObjectName, withComponent } from "../components/validation";

describe("Kubernetes names", () => {
    test.each(["default", "jenkins", "team-a", "a", "a1", "x".repeat(63)])("namespace %s is valid", (ns) => {
        expect(validateNamespace("namespace", ns)).toBe(ns);
    });
    test.each(["", "Jenkins", "team_a", "-a", "a-", "a.b", "x".repeat(64), "ns with space"])("namespace %j is refused", (ns) => {
        expect(() => validateNamespace("namespace", ns)).toThrow(/^namespace .*Fix: /);
    });
    test.each(["registrycreds", "registry-creds", "creds.v1", "a", `${"x".repeat(63)}.${"y".repeat(63)}`])("object name %s is valid", (n) => {
        expect(validateObjectName("secretName", n)).toBe(n);
    });
    test.each(["", "RegistryCreds", "creds_1", "creds.", ".creds", "a..b", "x".repeat(254), "x".repeat(64)])("object name %j is refused", (n) => {
        expect(() => validateObjectName("secretName", n)).toThrow(/^secretName .*Fix: use at most 253|^secretName is empty/);
    });
});

describe("withComponent", () => {
    test("puts the component and resource name in front of an input error", () => {
        expect(() =>
            withComponent("RegistryCredsSecret", "creds", () => {
                throw new InvalidInputError("namespace", "is empty", "give one");
            }),
        ).toThrow('RegistryCredsSecret "creds": namespace is empty. Fix: give one');
    });
    test("passes other errors through unchanged", () => {
        expect(() =>
            withComponent("X", "y", () => {
                throw new TypeError("boom");
            }),
        ).toThrow(/^boom$/);
    });
    test("returns the value of a passing check", () => {
        expect(withComponent("X", "y", () => 42)).toBe(42);
    });
});

describe("InvalidInputError", () => {
    test("keeps its message when the SDK's serializer rewrites it in place, and counts as a RunError (the CLI prints the message alone)", () => {
        const e = withComponent("LocalInsecureRegistry", "r", () => new InvalidInputError("users[0].password", "is 80 bytes long", "use at most 72").inComponent("X", "inner"));
        // What @pulumi/pulumi's serializeFilteredProperties does to a failing input's error.
        e.message = `error serializing property "data": ${e.message}`;
        expect(e.message).toBe('X "inner": users[0].password is 80 bytes long. Fix: use at most 72');
        expect(pulumi.RunError.isInstance(e)).toBe(true);
    });

    test("the innermost component names the error", () => {
        expect(() =>
            withComponent("KanikoBuilder", "b", () =>
                withComponent("KanikoPodTemplate", "t", () => {
                    throw new InvalidInputError("label", "is bad", "fix it");
                }),
            ),
        ).toThrow(/^KanikoPodTemplate "t": label is bad. Fix: fix it$/);
    });
});
