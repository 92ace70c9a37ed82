// Package stackfile reads Pulumi.yaml and a Pulumi.<stack>.yaml into the
// config map the engine hands a program: "namespace:key" -> string, with
// objects and lists JSON-encoded, keys without a namespace put in the
// project's, project-level defaults filled in, and `secure:` values (which
// need the stack's secrets provider) replaced by "[secret]" and listed as
// secret keys.
package stackfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// PathEnv names the stack file a program reads its secret paths from
// (SecretPaths); unset, Pulumi.<stack>.yaml in the working directory (the
// engine runs a program in its project directory). The offline preview sets it.
const PathEnv = "EDUAI_STACK_FILE"

// SecretValue is the value the program sees for a `secure:` value offline.
const SecretValue = "[secret]"

// Config is a stack's config as the engine passes it.
type Config struct {
	// Project is the project's name from Pulumi.yaml.
	Project    string
	Values     map[string]string
	SecretKeys []string
	// SecretPaths are the config paths of the `secure:` values, in the
	// engine's path syntax: "eduai:observability.alerting.receivers.oncall.credential",
	// list items as "[0]". The engine only says which keys hold a secret;
	// the stack file says where in them.
	SecretPaths []string
}

// Keys returns the config keys, sorted.
func (c *Config) Keys() []string {
	keys := make([]string, 0, len(c.Values))
	for k := range c.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// EnvJSON returns the PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS values.
func (c *Config) EnvJSON() (config, secretKeys string) {
	a, _ := json.Marshal(c.Values)
	keys := c.SecretKeys
	if keys == nil {
		keys = []string{}
	}
	b, _ := json.Marshal(keys)
	return string(a), string(b)
}

type projectFile struct {
	Name   string                   `yaml:"name"`
	Config map[string]projectConfig `yaml:"config"`
}

type projectConfig struct {
	Default any `yaml:"default"`
	Value   any `yaml:"value"`
}

type stackFile struct {
	Config map[string]any `yaml:"config"`
}

// Load reads the project file and the stack file. A key set in the stack file
// wins over the project file's default or value.
func Load(projectPath, stackPath string) (*Config, error) {
	var proj projectFile
	if err := readYAML(projectPath, &proj); err != nil {
		return nil, err
	}
	if proj.Name == "" {
		return nil, fmt.Errorf("%s: no project name", projectPath)
	}
	var stack stackFile
	if err := readYAML(stackPath, &stack); err != nil {
		return nil, err
	}
	c := &Config{Project: proj.Name, Values: map[string]string{}}
	secret := map[string]bool{}
	// One key may be spelled with and without the project's namespace
	// (`network:` and `eduai:network:`); with both, which one won would
	// depend on map order, so both spellings are a config error.
	spelled := map[string]string{}
	var twice []string
	for _, key := range sortedKeys(stack.Config) {
		full := qualify(proj.Name, key)
		if other, ok := spelled[full]; ok {
			twice = append(twice, fmt.Sprintf("config keys %q and %q are the same key %s: keep one", other, key, full))
		}
		spelled[full] = key
	}
	if len(twice) > 0 {
		return nil, fmt.Errorf("%s: %s", stackPath, strings.Join(twice, "; "))
	}
	for _, key := range sortedKeys(stack.Config) {
		raw := stack.Config[key]
		full := qualify(proj.Name, key)
		s, isSecret, err := encode(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: config %s: %w", stackPath, key, err)
		}
		c.Values[full] = s
		if isSecret {
			secret[full] = true
			c.SecretPaths = append(c.SecretPaths, securePaths(raw, full)...)
		}
	}
	sort.Strings(c.SecretPaths)
	for key, pc := range proj.Config {
		full := qualify(proj.Name, key)
		if _, set := c.Values[full]; set {
			continue
		}
		v := pc.Value
		if v == nil {
			v = pc.Default
		}
		if v == nil {
			continue
		}
		s, _, err := encode(v)
		if err != nil {
			return nil, fmt.Errorf("%s: config %s: %w", projectPath, key, err)
		}
		c.Values[full] = s
	}
	for k := range secret {
		c.SecretKeys = append(c.SecretKeys, k)
	}
	sort.Strings(c.SecretKeys)
	return c, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func readYAML(path string, out any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

// qualify puts a key without a namespace into the project's namespace.
func qualify(project, key string) string {
	if strings.Contains(key, ":") {
		return key
	}
	return project + ":" + key
}

// encode renders a YAML value the way the engine passes it: scalars as their
// text, objects and lists as JSON; {secure: …} anywhere makes it a secret.
func encode(v any) (string, bool, error) {
	v, isSecret := redactSecure(v)
	switch x := v.(type) {
	case string:
		return x, isSecret, nil
	case bool:
		return strconv.FormatBool(x), isSecret, nil
	case int:
		return strconv.Itoa(x), isSecret, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), isSecret, nil
	case nil:
		return "", isSecret, nil
	}
	b, err := json.Marshal(v)
	return string(b), isSecret, err
}

// SecretPaths reads only the `secure:` paths of a stack file, for a program
// that runs under the engine (which decrypts them) and must know which of a
// key's fields were secret. Keys without a namespace are the project's.
func SecretPaths(stackPath, project string) ([]string, error) {
	var stack stackFile
	if err := readYAML(stackPath, &stack); err != nil {
		return nil, err
	}
	var out []string
	for _, key := range sortedKeys(stack.Config) {
		out = append(out, securePaths(stack.Config[key], qualify(project, key))...)
	}
	sort.Strings(out)
	return out, nil
}

// securePaths lists the paths under path whose value is {secure: …}.
func securePaths(v any, path string) []string {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["secure"]; ok && len(x) == 1 {
			return []string{path}
		}
		var out []string
		for _, k := range sortedKeys(x) {
			out = append(out, securePaths(x[k], path+"."+k)...)
		}
		return out
	case []any:
		var out []string
		for i, item := range x {
			out = append(out, securePaths(item, path+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	}
	return nil
}

// redactSecure replaces every {secure: <ciphertext>} with SecretValue.
func redactSecure(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["secure"]; ok && len(x) == 1 {
			return SecretValue, true
		}
		found := false
		out := map[string]any{}
		for k, item := range x {
			r, s := redactSecure(item)
			out[k], found = r, found || s
		}
		return out, found
	case []any:
		found := false
		out := make([]any, len(x))
		for i, item := range x {
			r, s := redactSecure(item)
			out[i], found = r, found || s
		}
		return out, found
	}
	return v, false
}
