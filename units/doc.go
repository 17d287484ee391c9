// Package units renders the per-task systemd units (a timer with the task's
// schedule, next to the shipped mailpull-sync@.service template) from the task
// model, applies them over D-Bus and reads their state. Instance names are
// task ids only; nothing a user typed reaches a unit file.
package units
