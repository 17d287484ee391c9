// Package units renders the per-task systemd units from the task model,
// applies them over D-Bus and reads their state.
//
// Each task with a schedule gets one generated timer,
// mailpull-sync@<id>.timer, next to the shipped template service
// mailpull-sync@.service that runs "mailpull sync <id>". Instance names are
// task ids ([a-z0-9]{6}) only: no address, folder or anything else a user
// typed reaches a unit name or a unit file, and every value written is
// checked, since go-systemd's unit.Serialize escapes nothing.
package units
