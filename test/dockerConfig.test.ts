import { DOCKER_HUB_KEY, buildDockerConfig, isEcrHost, encodeAuth, goJsonMarshal, normalizeRegistryServer, parseDockerConfigJson } from "../components/credentials/dockerConfig";
import { InvalidInputError } from "../components/validation";

const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

describe("normalizeRegistryServer", () => {
    test.each([
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "Docker.IO",
        "https://index.docker.io/v1/",
        "https://index.docker.io/v1",
        "http://index.docker.io/v1/",
        "https://docker.io",
        "https://docker.io/",
        "https://registry-1.docker.io",
        "registry-1.docker.io/v1/",
    ])("Docker Hub spelling %s becomes %s", (server) => {
        expect(normalizeRegistryServer("server", server)).toBe(DOCKER_HUB_KEY);
    });

    test.each([
        ["ghcr.io", "ghcr.io"],
        ["https://ghcr.io", "ghcr.io"],
        ["https://ghcr.io/", "ghcr.io"],
        ["Registry.Example.com:5000", "registry.example.com:5000"],
        ["http://10.1.61.145:5000", "10.1.61.145:5000"],
        ["localhost:30500", "localhost:30500"],
        ["[::1]:5000", "[::1]:5000"],
        ["123456789012.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"],
        ["registry.jenkins.svc.cluster.local:5000", "registry.jenkins.svc.cluster.local:5000"],
        // a port makes it a registry of its own, not Docker Hub
        ["docker.io:443", "docker.io:443"],
    ])("%s becomes %s", (server, key) => {
        expect(normalizeRegistryServer("server", server)).toBe(key);
    });

    test.each([
        ["", /server is empty/],
        [" ghcr.io", /white space/],
        ["ghcr.io\n", /white space/],
        ["ftp://ghcr.io", /scheme "ftp"/],
        ["ghcr.io/my-org", /path "\/my-org".*only Docker Hub's "\/v1\/" path/],
        ["docker.io/library/nginx", /path "\/library\/nginx".*Docker Hub/],
        ["https://index.docker.io/v2/", /path "\/v2\/"/],
        ["user@ghcr.io", /user name/],
        ["ghcr.io?x=1", /query/],
        ["ghcr.io:0", /port "0"/],
        ["ghcr.io:65536", /port "65536"/],
        ["ghcr.io:", /port ""/],
        ["ghcr.io:05000", /port "05000"/],
        ["-bad-.example.com", /valid host name/],
        ["under_score.example.com", /valid host name/],
        ["https://", /valid host name/],
    ])("rejects %j", (server, message) => {
        expect(() => normalizeRegistryServer("registries[0].server", server)).toThrow(InvalidInputError);
        expect(() => normalizeRegistryServer("registries[0].server", server)).toThrow(message);
        expect(() => normalizeRegistryServer("registries[0].server", server)).toThrow(/^registries\[0\]\.server .*Fix: /);
    });

    test("rejects a value that is not a string", () => {
        expect(() => normalizeRegistryServer("server", undefined)).toThrow(/server is empty/);
        expect(() => normalizeRegistryServer("server", 5000)).toThrow(/server is empty/);
    });
});

describe("goJsonMarshal", () => {
    test("escapes <, >, &, U+2028 and U+2029 as Go's encoding/json does", () => {
        expect(goJsonMarshal({ a: "<>&\u2028\u2029" })).toBe('{"a":"\\u003c\\u003e\\u0026\\u2028\\u2029"}');
    });
    test("leaves other text as JSON.stringify writes it", () => {
        const value = { k: 'quote " backslash \\ tab \t newline \n é 日本 \u0001' };
        expect(goJsonMarshal(value)).toBe(JSON.stringify(value));
        expect(JSON.parse(goJsonMarshal({ a: "<>&" }))).toEqual({ a: "<>&" });
    });
});

describe("buildDockerConfig", () => {
    test("one login encodes as kubectl does: username, password, email, auth", () => {
        const built = buildDockerConfig({
            registries: [{ server: "docker.io", username: "jenkins", password: "s3cret", email: "ci@example.com" }],
        });
        expect(built.json).toBe(
            '{"auths":{"https://index.docker.io/v1/":{"username":"jenkins","password":"s3cret","email":"ci@example.com","auth":"amVua2luczpzM2NyZXQ="}}}',
        );
        expect(built.registries).toEqual([DOCKER_HUB_KEY]);
        expect(built.warnings).toEqual([]);
    });

    test("leaves out an empty email, as kubectl does", () => {
        const built = buildDockerConfig({ registries: [{ server: "ghcr.io", username: "u", password: "p", email: "" }] });
        expect(JSON.parse(built.json)).toEqual({ auths: { "ghcr.io": { username: "u", password: "p", auth: "dTpw" } } });
    });

    test("auth is base64 of user:password in UTF-8, split at the first colon", () => {
        expect(decode(encodeAuth("jenkins", "pa:ss:wörd"))).toBe("jenkins:pa:ss:wörd");
    });

    test("several registries share one file, sorted by key whatever the input order", () => {
        const logins = [
            { server: "registry.example.com:5000", username: "a", password: "1" },
            { server: "https://index.docker.io/v1/", username: "b", password: "2" },
            { server: "ghcr.io", username: "c", password: "3" },
        ];
        const a = buildDockerConfig({ registries: logins });
        const b = buildDockerConfig({ registries: [...logins].reverse() });
        expect(a.json).toBe(b.json);
        expect(Object.keys(JSON.parse(a.json).auths)).toEqual(["ghcr.io", DOCKER_HUB_KEY, "registry.example.com:5000"]);
    });

    test("credHelpers are written after auths, Docker Hub normalised", () => {
        const built = buildDockerConfig({
            registries: [{ server: "ghcr.io", username: "u", password: "p" }],
            credHelpers: { "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login", "gcr.io": "gcr" },
        });
        expect(built.json).toBe(
            '{"auths":{"ghcr.io":{"username":"u","password":"p","auth":"dTpw"}},"credHelpers":{"123456789012.dkr.ecr.eu-west-1.amazonaws.com":"ecr-login","gcr.io":"gcr"}}',
        );
    });

    test("credHelpers alone make a valid file with an empty auths", () => {
        const built = buildDockerConfig({ credHelpers: { "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/": "ecr-login" } });
        expect(JSON.parse(built.json)).toEqual({ auths: {}, credHelpers: { "123456789012.dkr.ecr.us-east-1.amazonaws.com": "ecr-login" } });
    });

    test("warns about a helper the Kaniko image does not ship", () => {
        const built = buildDockerConfig({ credHelpers: { "europe-docker.pkg.dev": "gcloud" } });
        expect(built.warnings).toEqual([expect.stringMatching(/docker-credential-gcloud" must be added to the image/)]);
    });

    test.each([
        [{}, /registries is empty, and neither dockerConfigJson nor credHelpers is given/],
        [{ registries: [] }, /registries is empty/],
        [{ registries: [{ server: "", username: "u", password: "p" }] }, /registries\[0\]\.server is empty/],
        [{ registries: [{ server: "ghcr.io", username: "", password: "p" }] }, /registries\[0\]\.username is empty/],
        [{ registries: [{ server: "ghcr.io", username: "u", password: "" }] }, /registries\[0\]\.password is empty/],
        [{ registries: [{ server: "ghcr.io", username: "ci:bot", password: "p" }] }, /registries\[0\]\.username contains ':' \(at character 3\)/],
        [{ registries: [{ server: "ghcr.io", username: "u", password: "p", email: "a b" }] }, /registries\[0\]\.email "a b" is not an e-mail/],
        [
            { registries: [{ server: "docker.io", username: "u", password: "p" }, { server: "index.docker.io", username: "v", password: "q" }] },
            /registries\[1\] names the registry "https:\/\/index.docker.io\/v1\/" again \(also in registries\[0\]\)/,
        ],
        [{ registries: "ghcr.io" }, /registries is not a list/],
        [{ credHelpers: { "ghcr.io": "docker-credential-x y" } }, /credHelpers\["ghcr.io"\] has the helper name/],
        [{ credHelpers: { "ghcr.io/x": "ecr-login" } }, /credHelpers\["ghcr.io\/x"\] .*path/],
        [{ credHelpers: ["ecr-login"] }, /credHelpers is not an object/],
        [
            { registries: [{ server: "ghcr.io", username: "u", password: "p" }], credHelpers: { "https://ghcr.io": "gcr" } },
            /credHelpers\["ghcr.io"\] sends "ghcr.io" to the helper "gcr", but registries\[0\] also has a login/,
        ],
    ])("rejects %j", (sources, message) => {
        expect(() => buildDockerConfig(sources as any)).toThrow(message);
    });

    test("error messages never contain the password", () => {
        const password = "hunter2-do-not-print";
        const cases = [
            { registries: [{ server: "ghcr.io", username: "a:b", password }] },
            { registries: [{ server: "ghcr.io/x", username: "u", password }] },
            { registries: [{ server: "ghcr.io", username: "u", password }, { server: "ghcr.io", username: "u", password }] },
        ];
        for (const sources of cases) {
            let message = "";
            try {
                buildDockerConfig(sources);
            } catch (e) {
                message = (e as Error).message;
            }
            expect(message).not.toBe("");
            expect(message).not.toContain(password);
        }
    });
});

describe("dockerConfigJson (an existing ~/.docker/config.json)", () => {
    const hubAuth = encodeAuth("jenkins", "from-docker-login");

    test("keeps auths entries, normalises keys and drops everything else", () => {
        const file = JSON.stringify({
            auths: { "https://index.docker.io/v1/": { auth: hubAuth }, "https://ghcr.io": { auth: encodeAuth("u", "p") } },
            HttpHeaders: { "User-Agent": "Docker-Client/24" },
            currentContext: "desktop-linux",
        });
        const built = buildDockerConfig({ dockerConfigJson: file });
        expect(built.json).toBe(`{"auths":{"ghcr.io":{"auth":"${encodeAuth("u", "p")}"},"https://index.docker.io/v1/":{"auth":"${hubAuth}"}}}`);
    });

    test("adds the auth field to an entry that spells out username and password", () => {
        const built = buildDockerConfig({ dockerConfigJson: '{"auths":{"quay.io":{"username":"u","password":"p"}}}' });
        expect(JSON.parse(built.json).auths["quay.io"]).toEqual({ username: "u", password: "p", auth: "dTpw" });
    });

    test("keeps identity tokens", () => {
        const built = buildDockerConfig({ dockerConfigJson: '{"auths":{"myregistry.azurecr.io":{"identitytoken":"tok"}}}' });
        expect(JSON.parse(built.json).auths["myregistry.azurecr.io"]).toEqual({ identitytoken: "tok" });
    });

    test("merges with registries and credHelpers", () => {
        const built = buildDockerConfig({
            dockerConfigJson: JSON.stringify({ auths: { "docker.io": { auth: hubAuth } }, credHelpers: { "gcr.io": "gcr" } }),
            registries: [{ server: "ghcr.io", username: "u", password: "p" }],
            credHelpers: { "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" },
        });
        const config = JSON.parse(built.json);
        expect(Object.keys(config.auths)).toEqual(["ghcr.io", DOCKER_HUB_KEY]);
        expect(config.credHelpers).toEqual({ "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login", "gcr.io": "gcr" });
    });

    test("drops a credsStore with a warning when the file also holds auths", () => {
        const built = buildDockerConfig({ dockerConfigJson: JSON.stringify({ auths: { "ghcr.io": { auth: hubAuth } }, credsStore: "desktop" }) });
        expect(JSON.parse(built.json)).toEqual({ auths: { "ghcr.io": { auth: hubAuth } } });
        expect(built.warnings).toEqual([expect.stringMatching(/dropped "credsStore" "desktop"/)]);
    });

    test("skips the empty entries docker writes for hosts served by a credential helper", () => {
        const built = buildDockerConfig({ dockerConfigJson: '{"auths":{"gcr.io":{}},"credHelpers":{"gcr.io":"gcr"}}' });
        expect(JSON.parse(built.json)).toEqual({ auths: {}, credHelpers: { "gcr.io": "gcr" } });
    });

    test("a file that only names Docker Desktop's credsStore is refused, with the fix", () => {
        const desktop = '{"auths":{"https://index.docker.io/v1/":{}},"credsStore":"desktop","currentContext":"desktop-linux"}';
        expect(() => buildDockerConfig({ dockerConfigJson: desktop })).toThrow(
            /dockerConfigJson\.auths\["https:\/\/index.docker.io\/v1\/"\] holds no credentials\. Fix: your docker login stored the credentials in the host's credential store "desktop" \(credsStore\), which does not exist inside a cluster/,
        );
        expect(() => buildDockerConfig({ dockerConfigJson: '{"credsStore":"osxkeychain"}' })).toThrow(
            /dockerConfigJson has no usable credentials\. Fix: .*"osxkeychain"/,
        );
    });

    test.each([
        ["", /dockerConfigJson is empty/],
        ["{", /dockerConfigJson is not valid JSON/],
        ['{"auths": {"ghcr.io": {"auth": "c2VjcmV0OnNlY3JldA=="}', /is not valid JSON/],
        ["[]", /is JSON but not an object/],
        ['"text"', /is JSON but not an object/],
        ["{}", /dockerConfigJson has no usable credentials/],
        ['{"auths":[]}', /dockerConfigJson\.auths is not an object/],
        ['{"auths":{"ghcr.io":"x"}}', /auths\["ghcr.io"\] is not an object/],
        ['{"auths":{"ghcr.io":{"auth":"bm9jb2xvbg=="}}}', /auths\["ghcr.io"\]\.auth is not base64 of "user:password"/],
        ['{"auths":{"ghcr.io":{"auth":"***"}}}', /auth is not base64/],
        ['{"auths":{"ghcr.io":{"auth":5}}}', /auths\["ghcr.io"\]\.auth is not a string/],
        ['{"auths":{"ghcr.io":{"username":"a:b","password":"p"}}}', /auths\["ghcr.io"\]\.username contains ':'/],
        ['{"auths":{"ghcr.io/team":{"auth":"dTpw"}}}', /auths\["ghcr.io\/team"\] .*path/],
        ['{"auths":{"ghcr.io":{"auth":"dTpw"},"https://ghcr.io/":{"auth":"dTpw"}}}', /second entry for "ghcr.io"/],
    ])("rejects %j", (text, message) => {
        expect(() => parseDockerConfigJson("dockerConfigJson", text)).toThrow(message);
    });

    test("a parse error reports a position, never the file's text", () => {
        const secret = "c2VjcmV0LXBhc3N3b3Jk";
        const text = `{"auths": {"ghcr.io": {"auth": "${secret}"}} trailing`;
        let message = "";
        try {
            parseDockerConfigJson("dockerConfigJson", text);
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).toMatch(/is not valid JSON \(parse error at character \d+\)/);
        expect(message).not.toContain(secret);
        expect(message).not.toContain("trailing");
    });

    test("the same registry from the file and from registries is refused", () => {
        expect(() =>
            buildDockerConfig({
                dockerConfigJson: JSON.stringify({ auths: { "https://index.docker.io/v1/": { auth: hubAuth } } }),
                registries: [{ server: "docker.io", username: "u", password: "p" }],
            }),
        ).toThrow(/dockerConfigJson\.auths\["https:\/\/index.docker.io\/v1\/"\] names the registry .* again \(also in registries\[0\]\)/);
    });
});

describe("Amazon ECR logins expire", () => {
    const ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    test("a login for an ECR host warns, naming the field and the ecr-login helper", () => {
        const built = buildDockerConfig({ registries: [{ server: ecr, username: "AWS", password: "eyJwYXlsb2FkIjoi-fake" }] });
        expect(built.warnings).toEqual([expect.stringMatching(/^registries\[0\]: "123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com" is Amazon ECR, whose passwords .* expire after 12 hours.*credHelpers: \{ "123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com": "ecr-login" \}/)]);
        const fromFile = buildDockerConfig({ dockerConfigJson: JSON.stringify({ auths: { [ecr]: { auth: Buffer.from("AWS:tok").toString("base64") } } }) });
        expect(fromFile.warnings).toEqual([expect.stringMatching(/^dockerConfigJson\.auths\["123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com"\]: .* is Amazon ECR/)]);
    });
    test("the ecr-login helper, and other registries, do not", () => {
        expect(buildDockerConfig({ credHelpers: { [ecr]: "ecr-login" } }).warnings).toEqual([]);
        expect(buildDockerConfig({ registries: [{ server: "ghcr.io", username: "u", password: "p" }] }).warnings).toEqual([]);
    });
    test.each([
        [ecr, true],
        ["123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", true],
        ["123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", true],
        ["public.ecr.aws", false],
        ["12345.dkr.ecr.eu-west-1.amazonaws.com", false],
        ["ghcr.io", false],
    ])("isEcrHost(%s) is %s", (host, expected) => expect(isEcrHost(host)).toBe(expected));
});
