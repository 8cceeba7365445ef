/// The stage after simulation: what CI needs to review a change to the rules — rule unit
/// tests written in YAML (with coverage) and semantic diffs of two rule sets with their cost.
public enum Review {}
