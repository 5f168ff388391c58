import assert from "node:assert/strict";
import { jsonSyntaxError } from "./json_syntax.ts";

Deno.test("jsonSyntaxError accepts what JSON.parse accepts", () => {
  for (
    const text of [
      "{}",
      " [ ] ",
      '{"a":[1,-2.5e+3,0,true,false,null,"x\\n\\u00e9\\"y"],"b":{"c":{}}}',
      '"\u00e9"',
      "0",
      "-0.0E-1",
      '\n{\n  "backend_servers": ["10.0.0.1:80"]\n}\n',
    ]
  ) {
    JSON.parse(text); // the table's own check
    assert.equal(jsonSyntaxError(text), null, text);
  }
});

Deno.test("jsonSyntaxError names the first bad character's position, line and column", () => {
  const cases: [string, number, number, number, string][] = [
    ['{"a": 1,}', 8, 1, 9, 'unexpected character "}"'],
    ["{bad", 1, 1, 2, 'unexpected character "b"'],
    ['{"backend_servers": [', 21, 1, 22, "unexpected end of input"],
    ["", 0, 1, 1, "unexpected end of input"],
    ['{\n  "a": tru\n}', 12, 2, 11, 'unexpected character "\\n"'],
    ["[1 2]", 3, 1, 4, 'unexpected character "2"'],
    ["01", 1, 1, 2, 'unexpected character "1"'],
    ["1.", 2, 1, 3, "unexpected end of input"],
    ['"a\tb"', 2, 1, 3, 'unexpected character "\\t"'],
    ['"\\x"', 2, 1, 3, 'unexpected character "x"'],
    ['"\\u12g4"', 5, 1, 6, 'unexpected character "g"'],
    ["{} {}", 3, 1, 4, 'unexpected character "{"'],
    ["{'a': 1}", 1, 1, 2, `unexpected character "'"`],
    ["[1,]", 3, 1, 4, 'unexpected character "]"'],
    ["nul", 3, 1, 4, "unexpected end of input"],
  ];
  for (const [text, position, line, column, found] of cases) {
    assert.throws(() => JSON.parse(text), SyntaxError, text); // the table's own check
    assert.deepEqual(jsonSyntaxError(text), { position, line, column, found }, text);
  }
});
