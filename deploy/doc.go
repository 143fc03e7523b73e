// Package deploy holds what an operator installs beside the drop box (the systemd unit, the
// snippet that puts tor's onion service in front of it, and later the package's layout) and the
// tests that check them as the tools that run them would.
package deploy
