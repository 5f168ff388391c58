import assert from "node:assert/strict";
import { escapeXml, timelineSvg } from "./timeline_svg.ts";

Deno.test("timelineSvg: one point per second, one dashed mark per fault, labels escaped", () => {
  const svg = timelineSvg([100, 100, 50, 100], [{ second: 2, label: "kill <p2> & co" }], {
    title: "success rate",
    unit: "%",
    yMax: 100,
    width: 460,
    height: 200,
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  const points = /points="([^"]*)"/.exec(svg)?.[1]?.split(" ") ?? [];
  assert.equal(points.length, 4);
  // x runs from the left margin (56) to width - right margin (448); 100% is the top (28)
  assert.equal(points[0], "56,28");
  assert.equal(points[3], "448,28");
  // 50% is half-way down the plot (28 + 144 / 2)
  assert.equal(points[2], `${Math.round((56 + (2 / 3) * 392) * 10) / 10},100`);
  assert.equal(svg.match(/class="fault"/g)?.length, 1);
  assert.match(svg, /kill &lt;p2&gt; &amp; co/);
  assert.doesNotMatch(svg, /<p2>/);
});

Deno.test("timelineSvg: the y axis defaults to the largest value and clamps nothing below it", () => {
  const svg = timelineSvg([0, 20, 40], [], { title: "p99", unit: "ms" });
  assert.match(svg, />40 ms</);
  assert.equal(svg.match(/class="fault"/g), null);
});

Deno.test("escapeXml", () => {
  assert.equal(escapeXml(`a<b>&"c"`), "a&lt;b&gt;&amp;&quot;c&quot;");
});
