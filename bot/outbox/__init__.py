"""The one outbox: everything sent later is a row written with the change it announces."""
