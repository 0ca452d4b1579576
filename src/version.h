/* version.h - the one place the version is written. */
#ifndef PGMEDIC_VERSION_H
#define PGMEDIC_VERSION_H
#define PGMEDIC_VERSION "0.1.0"
#endif
