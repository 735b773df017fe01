"""
Federated training: sites that keep their rows, and a site without a lab
========================================================================

Four groups of NHANES participants stand for four hospitals that cannot pool
their records: White, Black, Hispanic, and Asian or other participants. The
last one has no laboratory, so no HbA1c and no cholesterol. Each trains the
shared model on its own rows; Flower's simulation engine averages the weights
every round, each task's head by the sites' counts of that task's labels, so
the lab-free site leaves the lab tasks' heads to the others. Is one federated
model better, for each hospital's own patients, than the model each could
train alone?
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.federated.flower import run_simulation
from skhealth.metrics import score_tasks
from skhealth.preprocessing import make_default_preprocessor

X, Y = load_nhanes(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.2, random_state=0)
groups = {
    "Non-Hispanic White": "White",
    "Non-Hispanic Black": "Black",
    "Mexican American": "Hispanic",
    "Other Hispanic": "Hispanic",
    "Non-Hispanic Asian": "Asian or other",
    "Other Race - Including Multi-Racial": "Asian or other",
}
site, test_site = (
    frame["race_ethnicity"].astype(str).map(groups) for frame in (X_train, X_test)
)
sites = {
    name: (X_train[site == name], Y_train[site == name]) for name in groups.values()
}
lab_free = sites["Asian or other"][1].assign(hba1c=np.nan, total_cholesterol=np.nan)
sites["Asian or other"] = (sites["Asian or other"][0], lab_free)

estimator = MultiTaskHealthRegressor(n_members=1, random_state=0)
federated, rounds = run_simulation(estimator, sites, rounds=60)
print(rounds.tail(3))

# %%
# Each hospital's own model, on its rows alone (with early stopping), and the
# federated one, scored on each hospital's held-out patients, on the tasks it
# measures.
own, shared = {}, {}
for name, (X_site, Y_site) in sites.items():
    tasks = [task for task in Y_site if Y_site[task].notna().any()]
    model = make_pipeline(make_default_preprocessor(X_site), estimator)
    model.fit(X_site, Y_site[tasks])
    X_own, Y_own = X_test[test_site == name], Y_test[test_site == name]
    own[name] = score_tasks(model, X_own, Y_own[tasks])["r2"].mean()
    shared[name] = score_tasks(federated, X_own, Y_own)["r2"][tasks].mean()
    print(f"{name}: own model {own[name]:.3f}, federated {shared[name]:.3f}")

# %%
# Every hospital's patients are predicted better by the federated model. The
# smaller hospitals gain most: their own few hundred rows fit a poor model.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
names = list(sites)
position = np.arange(len(names))
left.barh(position - 0.2, [own[n] for n in names], height=0.4, label="own model")
left.barh(position + 0.2, [shared[n] for n in names], height=0.4, label="federated")
left.set_yticks(position, names)
left.invert_yaxis()
left.set_xlabel("mean R² on the hospital's held-out patients")
left.legend()
right.plot(rounds["round"], rounds["train_loss"])
right.set_xlabel("round")
right.set_ylabel("training loss (sites' mean, by rows)")
fig.tight_layout()
plt.show()
