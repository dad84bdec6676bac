/* devices.c: the devices this build has, one mx_device per mx_device_type: where each
 * device registers itself, and the only file that knows which devices are built in; and an
 * operator's kernel on a device (mx_op_kernel_for). */
#include "operator.h"

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

mx_op_kernel mx_op_kernel_for(const mx_op *op, int dev_type, int backward) {
  if (dev_type <= 0 || dev_type >= MX_DEV_SLOTS || !mx_devices[dev_type]) return NULL;
  mx_op_kernel own = backward ? op->backward[dev_type] : op->forward[dev_type];
  if (own) return own;
  const mx_device *d = mx_devices[dev_type];
  return d->op_kernel ? d->op_kernel(op, backward) : NULL;
}
