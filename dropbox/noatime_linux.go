package main

import "syscall"

// oNoAtime keeps a read from writing the time of the read into the file system (the answers
// keep only the day; a mount with relatime would otherwise record the first read to the
// nanosecond). The kernel allows it only to the file's owner, the drop box's own user.
const oNoAtime = syscall.O_NOATIME
