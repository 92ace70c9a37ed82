package stackfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadAsTheEngineWould(t *testing.T) {
	dir := t.TempDir()
	proj := write(t, dir, "Pulumi.yaml", `name: eduai
runtime: go
config:
  pulumi:disable-default-providers:
    value: ["*"]
  tags:
    type: object
    default: {}
  network:
    type: object
    default: {}
  environment:
    type: string
`)
	stack := write(t, dir, "Pulumi.prod.yaml", `config:
  aws:region: us-west-2
  aws:skipMetadataApiCheck: true
  eduai:network:
    azCount: 3
    cidr: 10.0.0.0/16
    endpoints: [sts]
  eduai:db:
    password:
      secure: v1:abc==
  replicas: 3
`)
	c, err := Load(proj, stack)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"aws:region":                       "us-west-2",
		"aws:skipMetadataApiCheck":         "true",
		"eduai:network":                    `{"azCount":3,"cidr":"10.0.0.0/16","endpoints":["sts"]}`,
		"eduai:db":                         `{"password":"[secret]"}`,
		"eduai:replicas":                   "3",
		"eduai:tags":                       "{}",
		"pulumi:disable-default-providers": `["*"]`,
	}
	for k, v := range want {
		if c.Values[k] != v {
			t.Errorf("%s = %q, want %q", k, c.Values[k], v)
		}
	}
	if _, ok := c.Values["eduai:environment"]; ok {
		t.Errorf("a declared key without default or value must not be set")
	}
	if len(c.SecretKeys) != 1 || c.SecretKeys[0] != "eduai:db" {
		t.Errorf("secret keys %v", c.SecretKeys)
	}
	if c.Project != "eduai" {
		t.Errorf("project %q", c.Project)
	}
	cfg, keys := c.EnvJSON()
	if cfg == "" || keys != `["eduai:db"]` {
		t.Errorf("env: %s %s", cfg, keys)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	proj := write(t, dir, "Pulumi.yaml", "name: eduai\nruntime: go\n")
	if _, err := Load(proj, filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing stack file accepted")
	}
	bad := write(t, dir, "bad.yaml", "config: [\n")
	if _, err := Load(proj, bad); err == nil {
		t.Error("malformed YAML accepted")
	}
	noName := write(t, dir, "P2.yaml", "runtime: go\n")
	if _, err := Load(noName, bad); err == nil {
		t.Error("project without a name accepted")
	}
	paths := write(t, dir, "paths.yaml", "config:\n  eduai:observability:\n    alerting:\n      receivers:\n"+
		"        slack: {type: slack, credential: https://hooks.example/x}\n"+
		"        oncall: {type: pagerduty, credential: {secure: v1:abc}}\n  eduai:list: [a, {secure: v1:def}]\n")
	cfg, err := Load(proj, paths)
	if err != nil {
		t.Fatal(err)
	}
	want := "eduai:list[1] eduai:observability.alerting.receivers.oncall.credential"
	if got := strings.Join(cfg.SecretPaths, " "); got != want {
		t.Errorf("secret paths %q, want %q", got, want)
	}
	if only, err := SecretPaths(paths, "eduai"); err != nil || strings.Join(only, " ") != want {
		t.Errorf("SecretPaths: %v %v", only, err)
	}
	// Issue #17: one key in two spellings gave a VPC that depended on map order.
	both := write(t, dir, "both.yaml", "config:\n  network: {cidr: 10.0.0.0/16}\n  eduai:network: {cidr: 10.9.0.0/16}\n")
	_, err = Load(proj, both)
	if err == nil || !strings.Contains(err.Error(), `config keys "eduai:network" and "network" are the same key eduai:network`) {
		t.Errorf("both spellings of eduai:network: %v", err)
	}
}
