/* devices.c: the devices this build has, one mx_device per mx_device_type: where each
 * device registers itself, and the only file that knows which devices are built in. */
#include "internal.h"

#ifdef MX_HAVE_CUDA
extern const mx_device mx_device_cuda; /* device_cuda.cu */
#define MX_DEVICE_GPU (&mx_device_cuda)
#else
#define MX_DEVICE_GPU NULL
#endif

const mx_device *const mx_devices[MX_DEV_SLOTS] = {
    [MX_DEV_CPU] = &mx_device_cpu,
    [MX_DEV_GPU] = MX_DEVICE_GPU,
};
