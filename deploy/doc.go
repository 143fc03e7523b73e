// Package deploy holds what an operator installs beside the drop box (the systemd unit, and
// later the torrc snippet and the package's layout) and the tests that check them as the tools
// that run them would.
package deploy
