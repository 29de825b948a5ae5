package report

import (
	"bytes"
	"html/template"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// The reports are single HTML files that open from the mount with no
// network: styles, the charts (inline SVG) and the small script that
// sorts tables are all inside. html/template escapes every name taken
// from the catalog. No page holds the time it was rendered, so the same
// catalog always gives the same bytes.

// reportCSS reads on a laptop screen and prints on A4/Letter: the print
// rules drop the width limit and keep charts and rows from splitting.
const reportCSS = `
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#e2e2e2;--head:#f5f5f5;--best:#D55E00;--bestbg:#fdf0e8;--bad:#b3261e}
*{box-sizing:border-box}
body{font:14px/1.45 "Liberation Sans",Arial,Helvetica,sans-serif;color:var(--fg);background:#fff;margin:0 auto;max-width:1200px;padding:24px 28px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:17px;margin:30px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
p.sub{color:var(--muted);margin:0}
a{color:#0062a0}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0 6px}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 14px;min-width:160px}
.card span{display:block;color:var(--muted);font-size:12px}
.card b{display:block;font-size:19px;word-break:break-all}
.card.best{border-color:var(--best)}
.charts{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start;margin-top:14px}
.charts figure{margin:0;flex:1 1 330px;max-width:480px}
.charts figure.wide{flex-basis:520px;max-width:100%}
svg.chart{display:block;max-width:100%;height:auto}
svg.chart text{font-family:"Liberation Sans",Arial,Helvetica,sans-serif!important}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--head);font-weight:bold;white-space:nowrap}
thead th{position:sticky;top:0}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \25B2"}
th[aria-sort=descending]::after{content:" \25BC"}
tr.best td{background:var(--bestbg);font-weight:bold}
.failed{color:var(--bad)}
.gone{color:var(--muted)}
.note{color:var(--muted);font-style:italic}
pre{white-space:pre-wrap;word-break:break-word;font-size:12px;background:var(--head);padding:8px;margin:4px 0;max-height:22em;overflow:auto}
footer{margin-top:34px;color:var(--muted);font-size:12px}
@media print{
 body{max-width:none;padding:0;font-size:11px}
 thead th{position:static}
 h2{break-after:avoid}
 figure,.card,tr{break-inside:avoid}
 .charts figure{flex:1 1 30%;max-width:33%}
 .charts figure.wide{flex:1 1 45%;max-width:100%}
 pre{max-height:none}
 th[aria-sort]::after{content:""}
}
`

// sortScript sorts a table.sortable by the clicked column (Enter or Space
// too): numbers by their data-v value (else their text without thousands
// separators), text by its content, blanks last.
const sortScript = `(function(){
function key(td,num){var v=td.getAttribute("data-v");if(v===null)v=td.textContent.trim();
if(!num)return v.toLowerCase();v=v.replace(/,/g,"");if(v==="")return null;var f=parseFloat(v);return isNaN(f)?null:f}
document.querySelectorAll("table.sortable").forEach(function(t){
var hs=t.tHead.rows[0].cells;
Array.prototype.forEach.call(hs,function(th,i){
th.tabIndex=0;
function sort(){
var asc=th.getAttribute("aria-sort")!=="ascending",num=th.classList.contains("n"),b=t.tBodies[0];
Array.prototype.forEach.call(hs,function(h){h.removeAttribute("aria-sort")});
th.setAttribute("aria-sort",asc?"ascending":"descending");
var rs=Array.prototype.map.call(b.rows,function(r,j){return{r:r,k:key(r.cells[i],num),j:j}});
rs.sort(function(a,c){if(a.k===null||c.k===null)return a.k===c.k?a.j-c.j:(a.k===null?1:-1);
var d=a.k<c.k?-1:(a.k>c.k?1:0);return(asc?d:-d)||a.j-c.j});
rs.forEach(function(x){b.appendChild(x.r)})}
th.addEventListener("click",sort);
th.addEventListener("keydown",function(e){if(e.key==="Enter"||e.key===" "){e.preventDefault();sort()}})})})
})();`

// pageHead is the title block of every report.
type pageHead struct {
	Title, Heading, Sub string
	Footer              string
}

// figure is one chart of a report, or the reason it is missing.
type figure struct {
	SVG  template.HTML
	Note string
	Wide bool
}

// newFigure draws p as an inline SVG figure; a chart that cannot be drawn
// becomes a note saying why, and the rest of the report still renders.
func newFigure(p *plot.Plot, err error, w, h vg.Length, label string) figure {
	if err == nil {
		var svg template.HTML
		if svg, err = svgChart(p, w, h, label); err == nil {
			return figure{SVG: svg}
		}
	}
	return figure{Note: label + ": " + err.Error()}
}

const layoutHTML = `{{define "head"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="n4ws">
<title>{{.Title}}</title>
<style>` + reportCSS + `</style>
</head>
<body>
<header>
<h1>{{.Heading}}</h1>
<p class="sub">{{.Sub}}</p>
</header>
{{end}}
{{define "foot"}}<footer>{{.Footer}}</footer>
<script>` + sortScript + `</script>
</body>
</html>
{{end}}
{{define "charts"}}<div class="charts">{{range .}}<figure{{if .Wide}} class="wide"{{end}}>{{if .SVG}}{{.SVG}}{{else}}<p class="note">{{.Note}}</p>{{end}}</figure>
{{end}}</div>
{{end}}`

// reportTemplates holds the layout and every report page.
var reportTemplates = template.Must(template.Must(template.Must(template.Must(
	template.New("layout").Parse(layoutHTML)).
	Parse(sessionHTML)).
	Parse(globalHTML)).
	Parse(historyHTML))

// renderPage executes one page template.
func renderPage(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := reportTemplates.ExecuteTemplate(&b, name, data); err != nil {
		return nil, err
	}
	// Exactly sized: the page is kept while its view is valid, and the
	// buffer grew to up to twice its content.
	return bytes.Clone(b.Bytes()), nil
}
