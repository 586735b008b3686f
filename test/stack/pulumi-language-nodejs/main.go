// pulumi-language-nodejs for the local stack: the Pulumi language host that runs a Node.js
// program. Pulumi's own host is a Go module of its own that the Go module proxy reachable here
// does not serve, so the stack builds this one, against the same sdk/v3 release as the CLI.
//
// It speaks the LanguageRuntime gRPC protocol: the CLI starts it with the engine's address as
// the last argument and reads the port it listens on from its first line of output. Run starts
// the program through @pulumi/pulumi's own runner (node_modules/@pulumi/pulumi/cmd/run) with the
// engine and resource-monitor addresses, the stack's config in PULUMI_CONFIG, and the project's
// Node. TypeScript runs by Node's type stripping, not ts-node: the runtime option `typescript`
// defaults to false here. Plugin discovery is left to the CLI (plugins on PATH), so
// GetRequiredPlugins reports none and nothing is ever downloaded.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is stamped by the stack's build (the sdk/v3 release it is built against).
var version = "3.0.0"

// The runner exits with this code after it has already shown the user an actionable message.
const exitAfterMessage = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pulumi-language-nodejs [flags] ENGINE_ADDRESS")
		os.Exit(2)
	}
	h := &host{engineAddress: os.Args[len(os.Args)-1]}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: []grpc.ServerOption{grpc.MaxRecvMsgSize(400 * 1024 * 1024)},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *host) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	root, programDir := req.GetPwd(), req.GetPwd()
	program := req.GetProgram()
	var options map[string]any
	if info != nil {
		root, programDir = info.GetRootDirectory(), info.GetProgramDirectory()
		program = filepath.Join(programDir, info.GetEntryPoint())
		options = info.GetOptions().AsMap()
	}
	if program == "" {
		program = "."
	}
	runner, err := findUp(programDir, filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", "run", "index.js"))
	if err != nil {
		return &pulumirpc.RunResponse{Error: "@pulumi/pulumi is not installed (run npm ci): " + err.Error()}, nil
	}
	node, err := nodeBinary(root)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	var args []string
	if extra, ok := options["nodeargs"].(string); ok && extra != "" {
		args = append(args, strings.Fields(extra)...)
	}
	args = append(args, runner)
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", h.engineAddress)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("stack", req.GetStack())
	flag("pwd", req.GetPwd())
	flag("root-directory", root)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flag("parallel", strconv.Itoa(int(req.GetParallel())))
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))
	if ts, _ := options["typescript"].(bool); ts {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if exit.ExitCode() == exitAfterMessage {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with code %d", exit.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: "could not start node: " + err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// nodeBinary prefers the project's own Node (a devDependency: node_modules/.bin/node), then PATH.
func nodeBinary(root string) (string, error) {
	if local, err := findUp(root, filepath.Join("node_modules", ".bin", "node")); err == nil {
		return local, nil
	}
	path, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("node was found neither in node_modules/.bin nor on PATH")
	}
	return path, nil
}

// findUp looks for rel in dir and each of its parents.
func findUp(dir, rel string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, rel)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s not found above %s", rel, dir)
		}
	}
}
