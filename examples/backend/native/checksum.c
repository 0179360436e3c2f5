/* SPDX-License-Identifier: Apache-2.0 */
/* Native extension that the builder stage compiles: Adler-32 of a bytes
 * object. It exists so the example needs gcc and Python headers to build
 * and only the shared object at run time. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *adler32(PyObject *self, PyObject *args) {
  Py_buffer data;
  if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
  const unsigned char *bytes = data.buf;
  unsigned long a = 1, b = 0;
  for (Py_ssize_t i = 0; i < data.len; ++i) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  PyBuffer_Release(&data);
  return PyLong_FromUnsignedLong((b << 16) | a);
}

static PyMethodDef methods[] = {
    {"adler32", adler32, METH_VARARGS, "Return the Adler-32 checksum of a bytes object."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "backend_native", NULL, -1, methods};

PyMODINIT_FUNC PyInit_backend_native(void) { return PyModule_Create(&module); }
