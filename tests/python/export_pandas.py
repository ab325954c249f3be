"""Runs the pandas block of docs/export.md ("Reading the CSV export with pandas") on an export
and prints every value it read as a hexadecimal float, for tests/db/test_export_pandas.cpp.

    python3 tests/python/export_pandas.py docs/export.md EXPORT_DIR [default]

With `default`, the block runs without float_precision="round_trip" (pandas' default parser).
Output: one line per value, `features <run_uuid> <column index> <hex>` and
`metrics <row> <hex>`.
"""
import sys

doc, directory = sys.argv[1], sys.argv[2]
text = open(doc).read()
section = text.index("### Reading the CSV export with pandas")
start = text.index("```python\n", section) + len("```python\n")
block = text[start:text.index("```", start)]
block = block.replace('"DIR/', '"' + directory + "/")
if len(sys.argv) > 3 and sys.argv[3] == "default":
    block = block.replace(',\n                       float_precision="round_trip")', ")")
    block = block.replace(', float_precision="round_trip")', ")")
    assert "round_trip" not in block, block
scope = {}
exec(compile(block, doc, "exec"), scope)
out = []
for run, row in scope["features"].iterrows():
    for i, v in enumerate(row.tolist()):
        out.append("features %s %d %s" % (run, i, float(v).hex()))
for i, v in enumerate(scope["metrics"]["value"].tolist()):
    out.append("metrics %d %s" % (i, float(v).hex()))
sys.stdout.write("\n".join(out) + "\n")
