//go:build !linux

package main

// NewEngine is the portable net.Dialer engine where there is no epoll.
func NewEngine(l Limits) Engine { return newDialEngine(l) }
