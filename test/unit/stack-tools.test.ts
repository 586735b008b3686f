import assert from "node:assert/strict";
import { test } from "node:test";
import { localReplaces, pulumiKubernetesTool, pulumiTool } from "../stack/tools.ts";

test("localReplaces finds the in-repository replacements of a go.mod, block and single-line forms", () => {
  const goMod = `module k8s.io/kubernetes

require (
\tk8s.io/api v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go v0.0.0 => ./staging/src/k8s.io/client-go
\tgithub.com/example/fork => github.com/other/fork v1.2.3
)

replace go.etcd.io/etcd/api/v3 => ../api
replace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY
`;
  assert.deepEqual(localReplaces(goMod), ["k8s.io/api", "k8s.io/client-go", "go.etcd.io/etcd/api/v3"]);
});

test("the Pulumi tools: the CLI with its go.mod's replace line and our language host; the provider with its SDK replaced", () => {
  const cli = pulumiTool();
  assert.match(cli.goMod, /github\.com\/pulumi\/pulumi\/pkg\/v3 v3\.\d+\.\d+/);
  assert.match(cli.goMod, /replace github\.com\/atotto\/clipboard => github\.com\/tgummerer\/clipboard v\S+/);
  assert.deepEqual(cli.binaries, ["pulumi", "pulumi-language-nodejs"]);
  assert.match(cli.sources?.["cmd/pulumi-language-nodejs/main.go"] ?? "", /RegisterLanguageRuntimeServer/);
  assert.ok(cli.ldflags?.some((f) => f.includes("sdk/v3/go/common/version.Version=v")));

  const provider = pulumiKubernetesTool();
  // Its own go.mod replaces the SDK with `../sdk`, which a module outside its repository cannot use.
  assert.match(
    provider.goMod,
    /replace github\.com\/pulumi\/pulumi-kubernetes\/sdk\/v4 => github\.com\/pulumi\/pulumi-kubernetes\/sdk\/v4 v4\.\d+\.\d+/,
  );
  assert.deepEqual(provider.packages, ["./cmd/pulumi-resource-kubernetes"]);
  assert.match(provider.sources?.["cmd/pulumi-resource-kubernetes/main.go"] ?? "", /go:embed schema-embed\.json/);
  assert.equal(typeof provider.prepare, "function");
});
