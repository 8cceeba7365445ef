// The evaluator's values and their arithmetic live in RedressSemantics, so that the checker
// folds constants with the very code the evaluator computes with; every stage after the IR
// sees them through this module as before.
@_exported import struct RedressSemantics.RuntimeValue
@_exported import enum RedressSemantics.Arithmetic
@_exported import enum RedressSemantics.FixedPoint
@_exported import enum RedressSemantics.Rounding
@_exported import enum RedressSemantics.ComparisonOperator
@_exported import enum RedressSemantics.ArithmeticOperator
@_exported import enum RedressSemantics.BuiltinFunction
