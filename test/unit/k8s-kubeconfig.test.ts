// The runtime's own kubeconfig reading (engine/k8s/client.ts): the current context's cluster and
// user, files relative to the kubeconfig, tokens, and plugin users left to client-node.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { connectKube, httpCode, KubeApiError } from "../../engine/k8s/client.ts";

const kubeconfig = (users: Record<string, unknown>) => `apiVersion: v1
kind: Config
current-context: second
contexts:
  - name: first
    context: { cluster: one, user: plain }
  - name: second
    context: { cluster: two, user: chosen }
clusters:
  - name: one
    cluster: { server: "https://one.example:6443" }
  - name: two
    cluster: { server: "https://127.0.0.1:6443", certificate-authority: ca.crt }
users:
  - name: plain
    user: { token: other }
  - name: chosen
    user: ${JSON.stringify(users)}
`;

test("the current context's cluster, with files relative to the kubeconfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
  writeFileSync(join(dir, "ca.crt"), "not really a certificate");
  writeFileSync(join(dir, "token"), "from-a-file\n");
  writeFileSync(join(dir, "config"), kubeconfig({ tokenFile: "token" }));
  const kube = connectKube(join(dir, "config"));
  assert.equal(kube.api.server, "https://127.0.0.1:6443");
  writeFileSync(join(dir, "exec"), kubeconfig({ exec: { command: "true", apiVersion: "client.authentication.k8s.io/v1" } }));
  assert.equal(connectKube(join(dir, "exec")).api.server, "https://127.0.0.1:6443", "an exec user loads too");
  writeFileSync(join(dir, "missing"), kubeconfig({ token: "t" }).replace("ca.crt", "nowhere.crt"));
  assert.throws(() => connectKube(join(dir, "missing")), /nowhere\.crt/, "a missing file is named");
});

test("API errors carry the HTTP code and the server's message, never the request", () => {
  const err = new KubeApiError(409, JSON.stringify({ message: "the object has been modified" }), "PATCH /x");
  assert.equal(httpCode(err), 409);
  assert.equal(httpCode(new Error("x")), undefined);
});
