package answers

// Stretch is K, exported to the tests so the vectors can show it.
var Stretch = stretch

// Damm runs ASCII digits through the Damm table.
var Damm = damm
