// Renders a Helm chart's templates the way `helm template` does, with Go's text/template and sprig (the engine Helm
// uses), implementing only the Helm built-ins this chart uses: include, toYaml, fromYaml-free toJson, required, fail,
// lookup (always empty, as in `helm template`), .Files.Get, and the .Release/.Chart/.Values/.Template objects.
//
// usage: render [-values] CHART_DIR RELEASE NAMESPACE [VALUES.yaml ...]   (later values files override earlier ones)
// Prints JSON: the merged values with -values; otherwise [{source, object}] for every YAML document rendered (parsed,
// so invalid YAML fails here) and {source, text} for NOTES.txt.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type files struct{ dir string }

func (f files) Get(name string) string {
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		return ""
	}
	return string(b)
}

// normalize turns yaml.v3's map[string]interface{} trees into JSON-compatible values.
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, x := range t {
			t[k] = normalize(x)
		}
		return t
	case map[interface{}]interface{}:
		m := map[string]interface{}{}
		for k, x := range t {
			m[fmt.Sprint(k)] = normalize(x)
		}
		return m
	case []interface{}:
		for i, x := range t {
			t[i] = normalize(x)
		}
	}
	return v
}

// merge overlays src onto dst (maps merge recursively; anything else replaces), as Helm merges values files.
func merge(dst, src map[string]interface{}) {
	for k, v := range src {
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func readYaml(path string) map[string]interface{} {
	b, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(b, &out); err != nil {
		fail(fmt.Errorf("%s: %w", path, err))
	}
	return normalize(out).(map[string]interface{})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "render:", err)
	os.Exit(1)
}

func toYaml(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func main() {
	args := os.Args[1:]
	valuesOnly := len(args) > 0 && args[0] == "-values"
	if valuesOnly {
		args = args[1:]
	}
	if len(args) < 3 {
		fail(fmt.Errorf("usage: render [-values] CHART_DIR RELEASE NAMESPACE [VALUES ...]"))
	}
	dir, release, namespace := args[0], args[1], args[2]
	chart := readYaml(filepath.Join(dir, "Chart.yaml"))
	values := readYaml(filepath.Join(dir, "values.yaml"))
	for _, f := range args[3:] {
		merge(values, readYaml(f))
	}
	if valuesOnly {
		b, err := json.Marshal(values)
		if err != nil {
			fail(err)
		}
		fmt.Println(string(b))
		return
	}

	root := template.New("chart")
	funcs := sprig.TxtFuncMap()
	funcs["toYaml"] = toYaml
	funcs["toJson"] = func(v interface{}) string { b, _ := json.Marshal(v); return string(b) }
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, fmt.Errorf(msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", fmt.Errorf(msg) }
	funcs["lookup"] = func(apiVersion, kind, ns, name string) map[string]interface{} { return map[string]interface{}{} }
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	root.Funcs(funcs).Option("missingkey=zero")

	var names []string
	err := filepath.Walk(filepath.Join(dir, "templates"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := filepath.Join(fmt.Sprint(chart["name"]), rel)
		if _, err := root.New(name).Parse(string(b)); err != nil {
			return err
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		fail(err)
	}
	sort.Strings(names)
	results := []interface{}{}
	for _, name := range names {
		base := filepath.Base(name)
		if strings.HasPrefix(base, "_") || !(strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".txt")) {
			continue
		}
		data := map[string]interface{}{
			"Values":   values,
			"Release":  map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false},
			"Chart":    map[string]interface{}{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
			"Files":    files{dir},
			"Template": map[string]interface{}{"Name": name, "BasePath": filepath.Join(fmt.Sprint(chart["name"]), "templates")},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			fail(err)
		}
		out := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.HasSuffix(name, ".txt") {
			results = append(results, map[string]interface{}{"source": name, "text": out})
			continue
		}
		for _, doc := range strings.Split("\n"+out, "\n---") {
			var obj interface{}
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				fail(fmt.Errorf("%s: rendered YAML does not parse: %w\n%s", name, err, doc))
			}
			if obj != nil {
				results = append(results, map[string]interface{}{"source": name, "object": normalize(obj)})
			}
		}
	}
	b, err := json.Marshal(results)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(b))
}
