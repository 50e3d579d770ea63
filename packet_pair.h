/* The (timestamp, packet) pair of iteration and readpkts(), made in C so
 * that the references it is made of are handed over, not taken and dropped
 * once more each, as Cython would: a few instructions a packet, on the
 * module's hottest path.  Included by pcap.c only, after Python.h. */
#ifndef PACKET_PAIR_H
#define PACKET_PAIR_H

#include <Python.h>

/* The pair of stamp (a new reference, handed over; NULL when making it
 * failed) and a bytes of data; NULL with an exception set on failure. */
static inline PyObject *packet_pair(PyObject *stamp, const unsigned char *data, Py_ssize_t len)
{
    PyObject *bytes, *pair;

    if (stamp == NULL)
        return NULL;
    bytes = PyBytes_FromStringAndSize((const char *)data, len);
    pair = bytes != NULL ? PyTuple_New(2) : NULL;
    if (pair == NULL) {
        Py_DECREF(stamp);
        Py_XDECREF(bytes);
        return NULL;
    }
    PyTuple_SET_ITEM(pair, 0, stamp);
    PyTuple_SET_ITEM(pair, 1, bytes);
    return pair;
}

static inline PyObject *packet_pair_seconds(double seconds, const unsigned char *data, Py_ssize_t len)
{
    return packet_pair(PyFloat_FromDouble(seconds), data, len);
}

static inline PyObject *packet_pair_ns(long long ns, const unsigned char *data, Py_ssize_t len)
{
    return packet_pair(PyLong_FromLongLong(ns), data, len);
}

#endif
