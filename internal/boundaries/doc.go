// Package boundaries holds no code: its test enforces the package
// boundaries docs/architecture.md draws (go list -deps over the module).
package boundaries
