//go:build !linux

package main

// oNoAtime is Linux's O_NOATIME; elsewhere reads may record their time (mount with noatime).
const oNoAtime = 0
