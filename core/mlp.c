/* mlp.c: placeholder until the MLP lands (next commit of the learning layer). */
#include "model_impl.h"

static dd_err mlp_init(model *m, char **cause)
{
    (void)m;
    return dd_fail(cause, DD_EINVAL, "model kind mlp is not built yet");
}

const model_ops model_mlp_ops = {.name = "mlp", .init = mlp_init};
