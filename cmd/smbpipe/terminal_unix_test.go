package main

import "syscall"

// noControllingTerminal starts a process in a new session: no /dev/tty.
func noControllingTerminal() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
