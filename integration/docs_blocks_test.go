//go:build linux

package integration

// The fenced code blocks of the documents the docs test runs: parsing and
// the markers that skip a block (see docs_test.go).

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docBlock is one fenced code block of a markdown file.
type docBlock struct {
	file string
	line int    // line of the opening fence, 1-based
	lang string // first word of the info string ("sh", "sql", "" ...)
	text string // the body, without the fence's indentation
	skip string // the reason of a "# docs-test: skip (reason)" first line
	// output marks a ```text block preceded by "<!-- output -->": what the
	// runnable block before it prints (see expectOutput).
	output bool
	// owner is the test that runs this block itself, named by a
	// "<!-- docs-test: run by TestX (why) -->" line before the fence: a block
	// that needs another folder (make demo builds in a copy of the checkout).
	owner string
}

func (b docBlock) String() string { return fmt.Sprintf("%s:%d (```%s)", b.file, b.line, b.lang) }

func (b docBlock) firstLine() string {
	first, _, _ := strings.Cut(b.text, "\n")
	return strings.TrimSpace(first)
}

// isScript tells a ```sh block that is a script to save (it starts with #!)
// from commands to run.
func (b docBlock) isScript() bool {
	return b.lang == "sh" && strings.HasPrefix(b.firstLine(), "#!")
}

// scriptName is the file name a script block names on its second line:
// "# /usr/local/bin/NAME: ...".
func (b docBlock) scriptName() string {
	lines := strings.SplitN(b.text, "\n", 3)
	if len(lines) < 2 {
		return ""
	}
	m := regexp.MustCompile(`^#\s*(/\S+?):`).FindStringSubmatch(strings.TrimSpace(lines[1]))
	if m == nil {
		return ""
	}
	return filepath.Base(m[1])
}

// docsRoot is the repository root (the tests run in integration/).
func docsRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var fenceRE = regexp.MustCompile("^([ \t]*)(`{3,}|~{3,})(.*)$")

// parseDoc returns the fenced code blocks of a markdown file of the repository.
func parseDoc(t testing.TB, name string) []docBlock {
	t.Helper()
	lines := strings.Split(readFile(t, filepath.Join(docsRoot(t), name)), "\n")
	var blocks []docBlock
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, fence := m[1], m[2]
		info := strings.Fields(m[3])
		b := docBlock{file: name, line: i + 1}
		if len(info) > 0 {
			b.lang = info[0]
		}
		var body []string
		closed := false
		for i++; i < len(lines); i++ {
			l := lines[i]
			if tl := strings.TrimSpace(l); len(tl) >= len(fence) && strings.Trim(tl, fence[:1]) == "" {
				closed = true
				break
			}
			body = append(body, strings.TrimPrefix(l, indent))
		}
		if !closed {
			t.Fatalf("%s:%d: code block is never closed", name, b.line)
		}
		b.text = strings.Join(body, "\n")
		if first := b.firstLine(); strings.HasPrefix(first, docsSkipMarker) {
			b.skip = strings.Trim(strings.TrimSpace(strings.TrimPrefix(first, docsSkipMarker)), "()— -")
		} else if marker, ok := htmlMarker(lines, b.line-1); ok {
			switch kind, rest, _ := strings.Cut(marker, " "); {
			case kind == "skip":
				b.skip = strings.Trim(strings.TrimSpace(rest), "()— -")
			case strings.HasPrefix(marker, "run by "):
				b.owner, _, _ = strings.Cut(strings.TrimPrefix(marker, "run by "), " ")
			default:
				t.Errorf("%v: unknown marker <!-- docs-test: %s -->: skip (why) or run by TestX (why)", b, marker)
			}
		}
		b.output = b.lang == "text" && b.line >= 2 && strings.TrimSpace(lines[b.line-2]) == docsOutputMarker
		blocks = append(blocks, b)
	}
	return blocks
}

// htmlMarker reads a marker written as an HTML comment on the line before
// a fence ("<!-- docs-test: skip (reason) -->" or "<!-- docs-test: run by
// TestX (why) -->"), invisible when the markdown is rendered: the README's
// first block stays clean commands. It returns the text after "docs-test:".
func htmlMarker(lines []string, fence int) (string, bool) {
	if fence < 1 {
		return "", false
	}
	l := strings.TrimSpace(lines[fence-1])
	if !strings.HasPrefix(l, "<!--") || !strings.HasSuffix(l, "-->") {
		return "", false
	}
	inner := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, "<!--"), "-->"))
	const prefix = "docs-test:"
	if !strings.HasPrefix(inner, prefix) {
		return "", false
	}
	return strings.TrimSpace(strings.TrimPrefix(inner, prefix)), true
}

// checkBlocks reports what would let a shell block escape the docs test:
// shell under another fence name, a skip marker without reason or not on the
// first line, a skip of a block kind that is never run anyway.
func checkBlocks(t testing.TB, blocks []docBlock) {
	t.Helper()
	for _, b := range blocks {
		switch b.lang {
		case "bash", "shell", "console", "zsh", "shell-session", "sh-session", "terminal":
			t.Errorf("%v: shell commands go in ```sh blocks, which the docs test runs", b)
		}
		for i, l := range strings.Split(b.text, "\n") {
			if strings.Contains(l, "docs-test:") && (i > 0 || !strings.HasPrefix(strings.TrimSpace(l), docsSkipMarker)) {
				t.Errorf("%v: line %d: the only marker is %q, as the block's first line", b, i+1, docsSkipMarker+" (reason)")
			}
		}
		if strings.HasPrefix(b.firstLine(), docsSkipMarker) {
			if b.skip == "" {
				t.Errorf("%v: %q needs a reason: %s (why)", b, docsSkipMarker, docsSkipMarker)
			}
			if b.lang != "sh" && b.lang != "python" {
				t.Errorf("%v: only sh and python blocks are run, so only they may be marked", b)
			}
		}
		if b.isScript() && b.skip == "" && b.scriptName() == "" {
			t.Errorf("%v: a script block names its file on its second line (# /path/NAME: ...)", b)
		}
		if b.owner != "" && (b.lang != "sh" || b.skip != "") {
			t.Errorf("%v: only a ```sh block that is not skipped can be run by %s", b, b.owner)
		}
		// A block with an owner runs in a folder of its own (a copy of the
		// checkout), so it may build.
		if b.lang == "sh" && b.skip == "" && b.owner == "" && !b.isScript() {
			for i, l := range strings.Split(b.text, "\n") {
				if code, _, _ := strings.Cut(" "+l, " #"); mustSkipRE.MatchString(code) {
					t.Errorf("%v: line %d %q: builds, recurses or needs the system; mark the block %s (why)", b, i+1, l, docsSkipMarker)
				}
			}
		}
	}
}

// mustSkipRE matches commands the docs test must not run: builds, the test
// itself, and what changes the system (sudo, systemd).
var mustSkipRE = regexp.MustCompile(`(^|[\s;&|(])(make( \S+)*|go (build|test|install)|sudo|systemctl|loginctl|journalctl)(\s|$)`)

// TestDocsBlocks checks the markers of both documents (no mount needed).
func TestDocsBlocks(t *testing.T) {
	for _, doc := range []string{readmeDoc, guideDoc} {
		blocks := parseDoc(t, doc)
		checkBlocks(t, blocks)
		if len(blocks) == 0 {
			t.Errorf("%s: no code blocks found", doc)
		}
	}
}

// docsOutputMarker, on the line before a ```text fence, makes that block the
// expected output of the runnable block before it.
const docsOutputMarker = "<!-- output -->"

// expectOutput checks that every non-empty line of an output block appears,
// in order, within the lines a block printed. "…" in an expected line
// stands for any text (paths, dates, sizes, ids); the rest is literal.
func expectOutput(want, got string) error {
	lines := strings.Split(got, "\n")
	at := 0
	for _, w := range strings.Split(want, "\n") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		parts := strings.Split(w, "…")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		re := regexp.MustCompile(strings.Join(parts, ".*"))
		for at < len(lines) && !re.MatchString(lines[at]) {
			at++
		}
		if at == len(lines) {
			return fmt.Errorf("expected output line %q not found (in order) in what the block printed", w)
		}
		at++
	}
	return nil
}

// TestDocsExpectOutput checks the output matcher the docs test relies on:
// lines in order, "…" for any text, and a missing or reordered line fails.
func TestDocsExpectOutput(t *testing.T) {
	got := "saved library/x.zip (4 files, 1202 bytes)\nTYPE NAME\nfiltered  pls  1202\n"
	for want, ok := range map[string]bool{
		"saved library/x.zip (… files, … bytes)\nfiltered  pls  …": true,
		"filtered  pls  …\nsaved library/x.zip (…)":                false, // order
		"saved library/y.zip (…)":                                  false,
		"TYPE NAME.*":                                              false, // literal, not a regexp
	} {
		if err := expectOutput(want, got); (err == nil) != ok {
			t.Errorf("expectOutput(%q): %v, want match %t", want, err, ok)
		}
	}
}
