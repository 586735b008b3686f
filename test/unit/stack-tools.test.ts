import assert from "node:assert/strict";
import { test } from "node:test";
import { localReplaces } from "../stack/tools.ts";

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
